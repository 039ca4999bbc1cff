package io.necrostack.backend;

import java.util.Map;
import java.util.Objects;

/**
 * A snapshot of a backend's health, for logs and probes.
 *
 * @param up whether the backend can currently store and deliver events
 * @param description one line for humans, e.g. "in-memory: 3 queued"
 * @param details named figures (queue length, lag, latency in milliseconds), unmodifiable
 */
public record BackendHealth(boolean up, String description, Map<String, Object> details) {

  /** Copies the details into an unmodifiable map. */
  public BackendHealth {
    Objects.requireNonNull(description, "description == null");
    details = Map.copyOf(details);
  }

  /** A healthy backend. */
  public static BackendHealth up(String description, Map<String, Object> details) {
    return new BackendHealth(true, description, details);
  }

  /** An unhealthy backend. */
  public static BackendHealth down(String description, Map<String, Object> details) {
    return new BackendHealth(false, description, details);
  }
}
