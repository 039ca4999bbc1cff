package io.necrostack.core;

import java.time.Duration;

/**
 * Handling-time figures of one organ, over every attempt (failed ones included).
 *
 * <p>Every attempt is counted. The clock is read around every attempt of an organ that takes
 * a microsecond or more; for a faster organ, around one attempt in 16 (two clock reads would
 * cost a fifth of such an attempt): the total is then extrapolated from the timed attempts and
 * the maximum is the longest timed one. For exact per-handling times, use a {@link
 * HandlingObserver} (the Micrometer module's times every handling).
 *
 * @param count attempts made
 * @param total the time they took together
 * @param max the longest one
 */
public record OrganStats(long count, Duration total, Duration max) {

  /** The mean time of an attempt, or zero when none was measured. */
  public Duration mean() {
    return count == 0 ? Duration.ZERO : total.dividedBy(count);
  }
}
