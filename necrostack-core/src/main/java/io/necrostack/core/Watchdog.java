package io.necrostack.core;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Times out synchronous handlings: a periodic scan that interrupts handlers past their
 * deadline. One scan for all handlings is cheaper on the hot path than a timer per call.
 */
final class Watchdog implements Runnable {
  private final Set<Invocation> active = ConcurrentHashMap.newKeySet();

  /** One running synchronous handling. */
  static final class Invocation {
    final Thread thread;
    final long deadline;
    boolean timedOut;
    boolean done;

    Invocation(Thread thread, long deadline) {
      this.thread = thread;
      this.deadline = deadline;
    }
  }

  Invocation begin(long timeoutNanos) {
    Invocation invocation = new Invocation(Thread.currentThread(), System.nanoTime() + timeoutNanos);
    active.add(invocation);
    return invocation;
  }

  /** Ends a handling; true if it had timed out (its interrupt is then cleared). */
  boolean end(Invocation invocation) {
    active.remove(invocation);
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
    for (Invocation invocation : active) {
      if (now - invocation.deadline >= 0) {
        synchronized (invocation) {
          if (!invocation.done && !invocation.timedOut) {
            invocation.timedOut = true;
            invocation.thread.interrupt();
          }
        }
      }
    }
  }
}
