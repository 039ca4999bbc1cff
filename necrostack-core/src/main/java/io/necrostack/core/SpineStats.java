package io.necrostack.core;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A snapshot of a Spine's counters since it was built. Maps are unmodifiable.
 *
 * <p>The maps keyed by event type ({@code enqueueFailures}, {@code unhandled}) hold at most
 * {@value #MAX_TYPES} distinct types, the first seen; further types are counted together
 * under {@value #OTHER_TYPES}, so input with ever new types cannot grow them without bound.
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
 * @param rejected steps of handlings an executor refused (shut down by a close() that outlived
 *     the drain timeout); each such event was given back, unsettled, and logged
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
    long rejected,
    int inFlight,
    Map<String, OrganStats> organs) {

  /** The most distinct event types a per-type counter keeps apart. */
  public static final int MAX_TYPES = 100;

  /** The key under which a per-type counter counts the types past {@value #MAX_TYPES}. */
  public static final String OTHER_TYPES = "other";

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
