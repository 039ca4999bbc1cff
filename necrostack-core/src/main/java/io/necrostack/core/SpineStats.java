package io.necrostack.core;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A snapshot of a Spine's counters since it was built. Maps are unmodifiable.
 *
 * @param processed events pulled and settled (handled, or failed and settled by policy)
 * @param emitted events emitted by organs and accepted by the backend
 * @param handlerErrors failed handlings, per organ name
 * @param enqueueFailures emitted events the backend refused, per event type
 * @param backendErrors failed pulls
 * @param ackErrors failed acknowledgements (the event may be redelivered)
 * @param unhandled events no organ listens to, per event type (acked, not lost: counted)
 * @param retried attempts scheduled again after a failure (handlings and commits)
 * @param deadLettered events stored as dead letters
 * @param timedOut handling attempts that exceeded their timeout
 * @param nacked events given back to the backend by the NACK outcome
 * @param inFlight events being handled at the time of the snapshot
 * @param organs handling-time figures per organ name, in registration order
 */
public record SpineStats(
    long processed,
    long emitted,
    Map<String, Long> handlerErrors,
    Map<String, Long> enqueueFailures,
    long backendErrors,
    long ackErrors,
    Map<String, Long> unhandled,
    long retried,
    long deadLettered,
    long timedOut,
    long nacked,
    int inFlight,
    Map<String, OrganStats> organs) {

  /** Copies the maps. */
  public SpineStats {
    handlerErrors = Map.copyOf(handlerErrors);
    enqueueFailures = Map.copyOf(enqueueFailures);
    unhandled = Map.copyOf(unhandled);
    organs = Collections.unmodifiableMap(new LinkedHashMap<>(organs));
  }

  /** Failed handlings across all organs. */
  public long totalHandlerErrors() {
    return handlerErrors.values().stream().mapToLong(Long::longValue).sum();
  }

  /** Events of types no organ listens to, across all types. */
  public long totalUnhandled() {
    return unhandled.values().stream().mapToLong(Long::longValue).sum();
  }
}
