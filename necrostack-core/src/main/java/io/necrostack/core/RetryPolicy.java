package io.necrostack.core;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Predicate;

/**
 * How often, and how far apart, a failed handling is tried again.
 *
 * <p>Attempt {@code n} (counting from 1) that fails is tried again after {@code min(maxDelay,
 * baseDelay * 2^(n-1))}, scaled by a random factor in {@code [1 - jitter, 1]} so that many
 * failures do not retry in lockstep. The wait is a scheduled continuation, never a sleep in a
 * handler's thread. A failure for which {@code retryable} is false is not retried.
 *
 * @param maxAttempts total attempts including the first; 1 means no retry
 * @param baseDelay the wait after the first failure
 * @param maxDelay the longest wait between attempts
 * @param jitter fraction of the delay randomly taken off, from 0 (none) to 1
 * @param retryable which failures are retried; timeouts and exceptions alike are offered
 * @param nackDelay for {@link FailureOutcome#NACK}: how long the in-memory backend waits
 *     before redelivering; zero redelivers at once
 */
public record RetryPolicy(
    int maxAttempts,
    Duration baseDelay,
    Duration maxDelay,
    double jitter,
    Predicate<Throwable> retryable,
    Duration nackDelay) {

  /** No retry: one attempt. The default. */
  public static final RetryPolicy NONE =
      new RetryPolicy(1, Duration.ZERO, Duration.ZERO, 0, t -> false, Duration.ZERO);

  /** Validates the fields; every problem names the field. */
  public RetryPolicy {
    if (maxAttempts < 1) {
      throw new IllegalArgumentException("maxAttempts must be at least 1, got " + maxAttempts);
    }
    Objects.requireNonNull(baseDelay, "baseDelay == null");
    Objects.requireNonNull(maxDelay, "maxDelay == null");
    Objects.requireNonNull(retryable, "retryable == null");
    Objects.requireNonNull(nackDelay, "nackDelay == null");
    if (baseDelay.isNegative() || maxDelay.isNegative() || nackDelay.isNegative()) {
      throw new IllegalArgumentException("delays must not be negative");
    }
    if (maxDelay.compareTo(baseDelay) < 0) {
      throw new IllegalArgumentException(
          "maxDelay (" + maxDelay + ") must not be below baseDelay (" + baseDelay + ")");
    }
    if (!(jitter >= 0 && jitter <= 1)) {
      throw new IllegalArgumentException("jitter must be within [0, 1], got " + jitter);
    }
  }

  /**
   * Exponential backoff with 50% jitter, retrying every failure.
   *
   * @param maxAttempts total attempts including the first
   * @param baseDelay the wait after the first failure
   * @param maxDelay the longest wait
   */
  public static RetryPolicy exponentialBackoff(
      int maxAttempts, Duration baseDelay, Duration maxDelay) {
    return new RetryPolicy(maxAttempts, baseDelay, maxDelay, 0.5, t -> true, Duration.ZERO);
  }

  /** This policy, not retrying failures that match the predicate. */
  public RetryPolicy notRetrying(Predicate<Throwable> permanent) {
    Predicate<Throwable> before = retryable;
    return new RetryPolicy(
        maxAttempts, baseDelay, maxDelay, jitter, t -> before.test(t) && !permanent.test(t),
        nackDelay);
  }

  /** This policy, not retrying failures of the given exception types (or their subtypes). */
  @SafeVarargs
  public final RetryPolicy notRetrying(Class<? extends Throwable>... permanent) {
    return notRetrying(t -> {
      for (Class<? extends Throwable> type : permanent) {
        if (type.isInstance(t)) {
          return true;
        }
      }
      return false;
    });
  }

  /** This policy with a fixed jitter fraction. */
  public RetryPolicy withJitter(double jitter) {
    return new RetryPolicy(maxAttempts, baseDelay, maxDelay, jitter, retryable, nackDelay);
  }

  /** This policy with a delay before a nacked event is redelivered by the in-memory backend. */
  public RetryPolicy withNackDelay(Duration nackDelay) {
    return new RetryPolicy(maxAttempts, baseDelay, maxDelay, jitter, retryable, nackDelay);
  }

  /** Whether a failure on the given attempt (from 1) is tried again. */
  public boolean shouldRetry(int attempt, Throwable failure) {
    return attempt < maxAttempts && retryable.test(failure);
  }

  /** The wait after the given failed attempt (from 1), jitter applied, in nanoseconds. */
  public long delayNanos(int attempt) {
    long delay = longestDelayNanos(attempt);
    if (jitter > 0 && delay > 0) {
      delay -= (long) (delay * jitter * ThreadLocalRandom.current().nextDouble());
    }
    return delay;
  }

  /** The wait after the given failed attempt (from 1) before jitter: the longest it can be. */
  long longestDelayNanos(int attempt) {
    long base = baseDelay.toNanos();
    long max = maxDelay.toNanos();
    int shift = Math.min(attempt - 1, 62);
    return base > (max >> shift) ? max : Math.min(max, base << shift);
  }

  /**
   * The longest all attempts of one handling can take, each bounded by {@code timeoutNanos},
   * with the waits between them; {@link Long#MAX_VALUE} if that does not fit or the timeout
   * is zero (no bound).
   */
  long longestHandlingNanos(long timeoutNanos) {
    if (timeoutNanos <= 0) {
      return Long.MAX_VALUE;
    }
    long total = saturatingMultiply(timeoutNanos, maxAttempts);
    // The waits double up to maxDelay within 63 attempts; the rest all wait maxDelay.
    int grown = Math.min(maxAttempts - 1, 63);
    for (int attempt = 1; attempt <= grown; attempt++) {
      total = saturatingAdd(total, longestDelayNanos(attempt));
    }
    long rest = (long) maxAttempts - 1 - grown;
    return saturatingAdd(total, saturatingMultiply(maxDelay.toNanos(), rest));
  }

  private static long saturatingAdd(long a, long b) {
    long sum = a + b;
    return sum < 0 ? Long.MAX_VALUE : sum; // both are non-negative
  }

  private static long saturatingMultiply(long a, long b) {
    return b != 0 && a > Long.MAX_VALUE / b ? Long.MAX_VALUE : a * b;
  }
}
