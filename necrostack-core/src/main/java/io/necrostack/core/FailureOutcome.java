package io.necrostack.core;

/**
 * What the Spine does with an event after an organ failed it on its last attempt.
 *
 * <p>Whatever the outcome, the other organs of the event are unaffected by this organ's
 * failure except where noted.
 */
public enum FailureOutcome {
  /**
   * Count and log the failure, then go on: the other organs still run, their emissions are
   * committed and the event is acknowledged. The default.
   */
  LOG,
  /**
   * Store the event in the Spine's {@link DeadLetters} with the organ, the error's class and
   * message, the attempts and the first and last failure times; then go on as for {@link
   * #LOG}. Replaying the dead letter later runs every organ listening to its type again.
   */
  DEAD_LETTER,
  /**
   * Leave the event with the backend for redelivery: the remaining organs are skipped, the
   * emissions of this handling are discarded and the delivery is nacked (the in-memory
   * backend redelivers it at once or after {@link RetryPolicy#nackDelay()}; the Redis
   * backend dead-letters a nacked entry). On redelivery every organ runs again, including
   * those that had succeeded: organs must tolerate at-least-once handling.
   */
  NACK,
  /**
   * Stop the Spine: the event is given back to the backend unhandled (not lost), in-flight
   * events are finished, and {@code run} throws a {@link SpineException} whose cause is the
   * handler's error.
   */
  FAIL
}
