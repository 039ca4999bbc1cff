package io.necrostack.core;

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
 */
final class Watchdog implements Runnable {
  private final Set<Invocation> active = ConcurrentHashMap.newKeySet();
  private final Invocation ownerSlot = new Invocation(Thread.currentThread(), 0);

  /** One running synchronous handling; the fields other than the thread are guarded by it. */
  static final class Invocation {
    final Thread thread;
    long deadline;
    boolean timedOut;
    boolean done;

    Invocation(Thread thread, long deadline) {
      this.thread = thread;
      this.deadline = deadline;
    }
  }

  Watchdog() {
    ownerSlot.done = true; // idle until its first handling
  }

  Invocation begin(long timeoutNanos) {
    long deadline = System.nanoTime() + timeoutNanos;
    if (Thread.currentThread() == ownerSlot.thread) {
      // Handlings on one thread never overlap, so its slot is free whenever it begins one.
      synchronized (ownerSlot) {
        ownerSlot.deadline = deadline;
        ownerSlot.timedOut = false;
        ownerSlot.done = false;
      }
      return ownerSlot;
    }
    Invocation invocation = new Invocation(Thread.currentThread(), deadline);
    active.add(invocation);
    return invocation;
  }

  /** Ends a handling; true if it had timed out (its interrupt is then cleared). */
  boolean end(Invocation invocation) {
    if (invocation != ownerSlot) {
      active.remove(invocation);
    }
    boolean timedOut;
    synchronized (invocation) {
      invocation.done = true; // after this the scan leaves the thread alone
      timedOut = invocation.timedOut;
    }
    if (timedOut) {
      Thread.interrupted(); // the interrupt was ours; do not leak it to the next handling
    }
    return timedOut;
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
    synchronized (invocation) {
      if (!invocation.done && !invocation.timedOut && now - invocation.deadline >= 0) {
        invocation.timedOut = true;
        invocation.thread.interrupt();
      }
    }
  }
}
