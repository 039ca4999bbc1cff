package io.necrostack.core;

import java.time.Duration;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An organ as the Spine runs it: its policy, resolved once, and its timing counters.
 *
 * <p>Timing: every attempt is counted, and the clock is read around every attempt of an
 * organ that takes a microsecond or more. For an organ faster than that, reading the clock
 * twice (about 40 ns here) would be a fifth of the Spine's whole cost per event, so one
 * attempt in {@value #SAMPLE_EVERY} is timed: the total is extrapolated from the timed ones
 * and the maximum is the longest timed one. Whether an organ is fast is decided from a
 * moving average of its timed attempts, so an organ that slows down is timed in full again
 * within a few attempts. The same trade is made by Kafka Streams, which records per-record
 * latency only at its DEBUG recording level.
 */
final class OrganRuntime {
  /** Attempts per timed attempt for a fast organ. */
  static final int SAMPLE_EVERY = 16;
  /** Below this moving average an organ is fast. */
  static final int FAST_NANOS = 1_000;

  final Organ organ;
  final String name;
  final Set<String> emits;
  final HandlerPolicy policy;
  final long timeoutNanos;
  /** The longest all attempts of one handling may take; Long.MAX_VALUE if unbounded. */
  final long longestHandlingNanos;
  final boolean async;
  private final Tally count;
  private final Tally timedCount;
  private final Tally timedNanos;
  private final AtomicLong maxNanos = new AtomicLong();
  // Plain ints: above concurrency 1 workers race on them, which only shifts which attempt is
  // timed; an int is never torn.
  private int averageNanos = FAST_NANOS; // timed in full until measured fast
  private int untilTimed;

  /**
   * @param serial whether the Spine handles one event at a time (see {@link Tally})
   */
  OrganRuntime(Organ organ, HandlerPolicy policy, boolean serial) {
    this.organ = organ;
    this.name = organ.name();
    this.emits = Set.copyOf(organ.emits());
    this.policy = policy;
    this.timeoutNanos = policy.timeout().toNanos();
    this.longestHandlingNanos = policy.retry().longestHandlingNanos(timeoutNanos);
    this.async = organ instanceof AsyncOrgan;
    this.count = Tally.of(serial);
    this.timedCount = Tally.of(serial);
    this.timedNanos = Tally.of(serial);
  }

  /** Counts an attempt; true if it is to be timed ({@link #record} then follows). */
  boolean begin() {
    count.increment();
    if (averageNanos >= FAST_NANOS) {
      return true;
    }
    if (--untilTimed > 0) {
      return false;
    }
    untilTimed = SAMPLE_EVERY;
    return true;
  }

  /** Records a timed attempt. */
  void record(long nanos) {
    timedCount.increment();
    timedNanos.add(nanos);
    int average = averageNanos;
    long clamped = Math.min(nanos, Integer.MAX_VALUE);
    averageNanos = (int) (average + (clamped - average) / 8); // moving average, weight 1/8
    long max = maxNanos.get(); // a new maximum is rare: usually no write at all
    while (nanos > max && !maxNanos.compareAndSet(max, nanos)) {
      max = maxNanos.get();
    }
  }

  OrganStats stats() {
    long attempts = count.sum();
    long timed = timedCount.sum();
    long nanos = timedNanos.sum();
    long total = timed == 0 || timed >= attempts
        ? nanos
        : (long) ((double) nanos / timed * attempts);
    return new OrganStats(attempts, Duration.ofNanos(total), Duration.ofNanos(maxNanos.get()));
  }
}
