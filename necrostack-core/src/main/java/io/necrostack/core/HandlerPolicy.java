package io.necrostack.core;

import java.time.Duration;
import java.util.Objects;

/**
 * How the Spine treats one organ's handling: its timeout, its retries, and what happens
 * after the last failed attempt. Set Spine-wide with {@code Spine.Builder.handlerPolicy} and
 * per organ with {@code Spine.Builder.organPolicy}.
 *
 * @param timeout the longest one attempt may take, sync or async; zero disables it. A
 *     timed-out attempt is a failure like any other (retried by the retry policy); the
 *     handler's thread is interrupted and its late result is discarded, never emitted.
 * @param retry retries after failed attempts
 * @param outcome what follows the last failed attempt
 */
public record HandlerPolicy(Duration timeout, RetryPolicy retry, FailureOutcome outcome) {

  /** The default handler timeout: 30 seconds. */
  public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);

  /** The defaults: a 30 s timeout, no retry, {@link FailureOutcome#LOG}. */
  public static final HandlerPolicy DEFAULT =
      new HandlerPolicy(DEFAULT_TIMEOUT, RetryPolicy.NONE, FailureOutcome.LOG);

  /** Validates the fields. */
  public HandlerPolicy {
    Objects.requireNonNull(timeout, "timeout == null");
    Objects.requireNonNull(retry, "retry == null");
    Objects.requireNonNull(outcome, "outcome == null");
    if (timeout.isNegative()) {
      throw new IllegalArgumentException("timeout must not be negative, got " + timeout);
    }
  }

  /** This policy with another timeout (zero disables it). */
  public HandlerPolicy withTimeout(Duration timeout) {
    return new HandlerPolicy(timeout, retry, outcome);
  }

  /** This policy with another retry policy. */
  public HandlerPolicy withRetry(RetryPolicy retry) {
    return new HandlerPolicy(timeout, retry, outcome);
  }

  /** This policy with another outcome after the last failed attempt. */
  public HandlerPolicy withOutcome(FailureOutcome outcome) {
    return new HandlerPolicy(timeout, retry, outcome);
  }
}
