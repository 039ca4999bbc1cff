package io.necrostack.core;

import io.necrostack.backend.BackendHealth;
import java.time.Duration;

/**
 * A Spine's health, for liveness and readiness probes.
 *
 * @param running whether the Spine is processing events
 * @param backend the backend's own health
 * @param lastError the last failure seen (handler, pull or commit), or null
 * @param sinceLastEvent time since the Spine last took an event, or null if it never did
 * @param failingPulls pulls failed in a row now (during a backend outage), 0 while pulls succeed
 */
public record SpineHealth(
    boolean running, BackendHealth backend, String lastError, Duration sinceLastEvent,
    int failingPulls) {

  /** Ready: running, with a healthy backend whose last pull succeeded. */
  public boolean ready() {
    return running && backend.up() && failingPulls == 0;
  }
}
