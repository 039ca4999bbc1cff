package io.necrostack.core;

import java.time.Duration;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/** An organ as the Spine runs it: its policy, resolved once, and its timing counters. */
final class OrganRuntime {
  final Organ organ;
  final String name;
  final Set<String> emits;
  final HandlerPolicy policy;
  final long timeoutNanos;
  final boolean async;
  private final LongAdder count = new LongAdder();
  private final LongAdder totalNanos = new LongAdder();
  private final AtomicLong maxNanos = new AtomicLong();

  OrganRuntime(Organ organ, HandlerPolicy policy) {
    this.organ = organ;
    this.name = organ.name();
    this.emits = Set.copyOf(organ.emits());
    this.policy = policy;
    this.timeoutNanos = policy.timeout().toNanos();
    this.async = organ instanceof AsyncOrgan;
  }

  void record(long nanos) {
    count.increment();
    totalNanos.add(nanos);
    long max = maxNanos.get();
    while (nanos > max && !maxNanos.compareAndSet(max, nanos)) {
      max = maxNanos.get();
    }
  }

  OrganStats stats() {
    return new OrganStats(
        count.sum(), Duration.ofNanos(totalNanos.sum()), Duration.ofNanos(maxNanos.get()));
  }
}
