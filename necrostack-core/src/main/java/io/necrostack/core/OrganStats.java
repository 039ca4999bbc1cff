package io.necrostack.core;

import java.time.Duration;

/**
 * Handling-time figures of one organ, over every attempt (failed ones included).
 *
 * @param count attempts measured
 * @param total the time they took together
 * @param max the longest one
 */
public record OrganStats(long count, Duration total, Duration max) {

  /** The mean time of an attempt, or zero when none was measured. */
  public Duration mean() {
    return count == 0 ? Duration.ZERO : total.dividedBy(count);
  }
}
