package io.necrostack.core;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.LongAdder;

/**
 * A statistics counter, read by any thread, written in one of two ways fixed at creation.
 *
 * <p>Why not always a {@link LongAdder}: an uncontended adder still does a compare-and-swap
 * per update, and a serial Spine (concurrency 1) updates five of them per event; on the
 * in-memory chain that was about a tenth of the framework's cost. At concurrency 1 the
 * handlings never overlap (a retry's continuation runs while the loop waits for it, and the
 * hand-over to and from it is ordered by the executor and the semaphore), so one thread
 * writes at a time and a plain add published with an opaque store is exact. Above 1 the
 * workers update concurrently and the adder is used.
 */
final class Tally {
  private static final VarHandle VALUE;

  static {
    try {
      VALUE = MethodHandles.lookup().findVarHandle(Tally.class, "value", long.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  /** Null for a single-writer tally. */
  private final LongAdder shared;
  /** The single writer's count; accessed opaquely so readers never see a torn long. */
  @SuppressWarnings("unused")
  private long value;

  private Tally(boolean singleWriter) {
    this.shared = singleWriter ? null : new LongAdder();
  }

  /**
   * A tally for the given writers.
   *
   * @param singleWriter true if at most one thread updates it at a time, each update ordered
   *     after the previous one (happens-before)
   */
  static Tally of(boolean singleWriter) {
    return new Tally(singleWriter);
  }

  void increment() {
    add(1);
  }

  void add(long n) {
    if (shared == null) {
      VALUE.setOpaque(this, (long) VALUE.getOpaque(this) + n);
    } else {
      shared.add(n);
    }
  }

  long sum() {
    return shared == null ? (long) VALUE.getOpaque(this) : shared.sum();
  }
}
