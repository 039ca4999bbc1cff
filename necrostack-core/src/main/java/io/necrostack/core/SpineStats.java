package io.necrostack.core;

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
 */
public record SpineStats(
    long processed,
    long emitted,
    Map<String, Long> handlerErrors,
    Map<String, Long> enqueueFailures,
    long backendErrors,
    long ackErrors,
    Map<String, Long> unhandled) {

  /** Copies the maps. */
  public SpineStats {
    handlerErrors = Map.copyOf(handlerErrors);
    enqueueFailures = Map.copyOf(enqueueFailures);
    unhandled = Map.copyOf(unhandled);
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
