package io.necrostack.micrometer;

import io.micrometer.core.instrument.Clock;
import io.micrometer.core.instrument.MeterRegistry;
import io.necrostack.core.Spine;
import io.necrostack.core.SpineHealth;
import java.time.Duration;

/**
 * One sample of a Spine's health, reused for a while by every gauge that reads it.
 *
 * <p>A scrape reads a dozen gauges; a Redis backend answers health with several round trips,
 * so each gauge asking for itself would multiply them. Sampling is lazy (only when a gauge is
 * read) and timed with the registry's clock so tests can move time. Thread-safe: scrapes may
 * overlap, and the slow call is made by one of them while the others wait for its result.
 */
final class HealthSampler {
  private final Spine spine;
  private final Clock clock;
  private final long ttlNanos;
  private SpineHealth last;
  private long sampledAt;

  HealthSampler(Spine spine, MeterRegistry registry, Duration ttl) {
    this.spine = spine;
    this.clock = registry.config().clock();
    this.ttlNanos = ttl.toNanos();
  }

  /** The cached sample, or a fresh one when it is older than the time to live. */
  synchronized SpineHealth sample() {
    long now = clock.monotonicTime();
    if (last == null || now - sampledAt >= ttlNanos) {
      last = spine.health(); // never throws: a failing backend reports down
      sampledAt = now;
    }
    return last;
  }

  /** A numeric backend detail, or NaN when absent or not a number. */
  double detail(String key) {
    Object value = sample().backend().details().get(key);
    return value instanceof Number n ? n.doubleValue() : Double.NaN;
  }
}
