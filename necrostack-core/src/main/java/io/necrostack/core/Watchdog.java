package io.necrostack.core;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Times out synchronous handlings: a periodic scan that interrupts handlers past their
 * deadline. One scan for all handlings is cheaper on the hot path than a timer per call.
 *
 * <p>The thread that creates the watchdog (the Spine's loop thread, which runs every handling
 * itself at concurrency 1) reuses one slot for all its handlings; other threads (workers,
 * retry continuations) register a fresh invocation each time. Why: registering and removing
 * an invocation in a concurrent set, plus its allocation, cost about 70 ns per event, a
 * fifth of an in-memory hand-off with the default 30 s timeout.
 *
 * <p>The hot path never reads the clock (two reads cost about 40 ns, a fifth of an in-memory
 * hand-off): the scan notes when it first sees a handling running and interrupts it once the
 * timeout has passed since. So a handler is interrupted no earlier than its timeout and at
 * most about two scan periods later.
 *
 * <p>Each invocation is a small state machine changed by compare-and-swap, not a lock: a
 * handling begins with a plain store of its timeout and a release store of its state, and
 * ends with one compare-and-swap (two monitor enters and exits cost about as much as the rest
 * of an in-memory hand-off's bookkeeping). The scan claims a late invocation (RUNNING to
 * INTERRUPTING) before interrupting its thread and marks it TIMED_OUT after; an end that
 * finds it claimed waits for that mark, so the interrupt never lands after the handling is
 * over and into the next one. The state word carries a generation, bumped by every begin,
 * so the scan tells a long handling from a series of short ones on the same slot, and
 * cannot claim the next handling of a reused slot (the compare-and-swap would see another
 * generation).
 */
final class Watchdog implements Runnable {
  private static final long IDLE = 0;
  private static final long RUNNING = 1;
  private static final long INTERRUPTING = 2;
  private static final long TIMED_OUT = 3;
  private static final long PHASE = 3;
  private static final long GENERATION = 4;
  private static final VarHandle STATE;

  static {
    try {
      STATE = MethodHandles.lookup().findVarHandle(Invocation.class, "state", long.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  private final Set<Invocation> active = ConcurrentHashMap.newKeySet();
  private final Invocation ownerSlot = new Invocation(Thread.currentThread());

  /** One synchronous handling: its thread, its deadline, its state. */
  static final class Invocation {
    final Thread thread;
    /** Written before the state's release store, read after its acquire load. */
    long timeout;
    /** The scan's own: the running word it last saw, and when it first saw it. */
    long seenWord;
    long seenAt;
    /** The RUNNING word of the current handling; only the handling's thread uses it. */
    long running;
    /** Generation times 4 plus the phase; through STATE. */
    @SuppressWarnings("unused")
    private long state;

    Invocation(Thread thread) {
      this.thread = thread;
    }
  }

  /**
   * Begins a handling on the current thread.
   *
   * @param timeoutNanos how long it may run before it is interrupted
   */
  Invocation begin(long timeoutNanos) {
    Invocation invocation;
    if (Thread.currentThread() == ownerSlot.thread) {
      // Handlings on one thread never overlap, so its slot is idle whenever it begins one.
      invocation = ownerSlot;
    } else {
      invocation = new Invocation(Thread.currentThread());
      active.add(invocation);
    }
    invocation.timeout = timeoutNanos;
    // The slot is idle here, so its word is stable: the next generation, running.
    long word = (((long) STATE.getAcquire(invocation)) & ~PHASE) + GENERATION + RUNNING;
    invocation.running = word;
    STATE.setRelease(invocation, word);
    return invocation;
  }

  /** Ends a handling; true if it had timed out (its interrupt is then cleared). */
  boolean end(Invocation invocation) {
    if (invocation != ownerSlot) {
      active.remove(invocation);
    }
    long word = invocation.running;
    long idle = word - RUNNING + IDLE;
    if (STATE.compareAndSet(invocation, word, idle)) {
      return false; // after this the scan leaves the thread alone
    }
    long claimed = word - RUNNING + INTERRUPTING;
    while ((long) STATE.getAcquire(invocation) == claimed) {
      Thread.onSpinWait(); // the scan is between its claim and its interrupt: nanoseconds
    }
    Thread.interrupted(); // the interrupt was ours; do not leak it to the next handling
    STATE.setRelease(invocation, idle);
    return true;
  }

  @Override
  public void run() {
    long now = System.nanoTime();
    check(ownerSlot, now);
    for (Invocation invocation : active) {
      check(invocation, now);
    }
  }

  private static void check(Invocation invocation, long now) {
    long word = (long) STATE.getAcquire(invocation);
    if ((word & PHASE) != RUNNING) {
      return;
    }
    if (word != invocation.seenWord) {
      invocation.seenWord = word; // a handling not seen before: its clock starts now
      invocation.seenAt = now;
      return;
    }
    if (now - invocation.seenAt >= invocation.timeout
        && STATE.compareAndSet(invocation, word, word - RUNNING + INTERRUPTING)) {
      invocation.thread.interrupt();
      STATE.setRelease(invocation, word - RUNNING + TIMED_OUT);
    }
  }
}
