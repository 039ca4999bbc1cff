package io.necrostack.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The watchdog's scan driven by hand (its {@code run()}), so each step is deterministic: a
 * handling is interrupted only once it has been seen running for its timeout, the interrupt
 * is cleared at its end, and a slot reused by later handlings is never claimed for an
 * earlier one.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class WatchdogTest {

  @AfterEach
  void clearInterrupt() {
    Thread.interrupted();
  }

  @Test
  void aHandlingSeenRunningPastItsTimeoutIsInterruptedAndTheInterruptIsCleared() {
    Watchdog watchdog = new Watchdog();
    Watchdog.Invocation invocation = watchdog.begin(0);

    watchdog.run(); // first sight: its clock starts
    assertThat(Thread.currentThread().isInterrupted()).isFalse();
    watchdog.run(); // seen again, zero timeout passed
    assertThat(Thread.currentThread().isInterrupted()).isTrue();

    assertThat(watchdog.end(invocation)).as("timed out").isTrue();
    assertThat(Thread.currentThread().isInterrupted()).as("interrupt cleared").isFalse();
  }

  @Test
  void aHandlingWithinItsTimeoutIsLeftAlone() {
    Watchdog watchdog = new Watchdog();
    Watchdog.Invocation invocation = watchdog.begin(TimeUnit.HOURS.toNanos(1));

    watchdog.run();
    watchdog.run();

    assertThat(Thread.currentThread().isInterrupted()).isFalse();
    assertThat(watchdog.end(invocation)).isFalse();
  }

  @Test
  void shortHandlingsOnOneSlotAreNeverTakenForOneLongOne() {
    Watchdog watchdog = new Watchdog();
    for (int i = 0; i < 1_000; i++) {
      Watchdog.Invocation invocation = watchdog.begin(0);
      watchdog.run(); // sees a new generation each time: first sight, never a timeout
      assertThat(watchdog.end(invocation)).as("handling %d", i).isFalse();
    }
    assertThat(Thread.currentThread().isInterrupted()).isFalse();
  }

  @Test
  void aSightingOfAnEndedHandlingDoesNotCarryOverToTheNext() {
    Watchdog watchdog = new Watchdog();
    Watchdog.Invocation first = watchdog.begin(0);
    watchdog.run(); // sees the first handling
    assertThat(watchdog.end(first)).isFalse();

    Watchdog.Invocation second = watchdog.begin(0);
    watchdog.run(); // another generation: first sight of the second handling

    assertThat(Thread.currentThread().isInterrupted()).isFalse();
    assertThat(watchdog.end(second)).isFalse();
  }

  @Test
  void handlingsOnOtherThreadsAreWatchedToo() throws Exception {
    Watchdog watchdog = new Watchdog(); // owned by this thread; the worker gets its own slot
    CompletableFuture<Watchdog.Invocation> begun = new CompletableFuture<>();
    CompletableFuture<Boolean> timedOut = new CompletableFuture<>();
    Thread worker = new Thread(() -> {
      Watchdog.Invocation invocation = watchdog.begin(0);
      begun.complete(invocation);
      try {
        new CompletableFuture<Void>().get(20, TimeUnit.SECONDS); // "handling" until interrupted
        timedOut.complete(false);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt(); // as a handler that does not swallow it
        timedOut.complete(watchdog.end(invocation) && !Thread.currentThread().isInterrupted());
      } catch (Exception e) {
        timedOut.completeExceptionally(e);
      }
    });
    worker.start();
    begun.get(10, TimeUnit.SECONDS);

    watchdog.run();
    watchdog.run();

    assertThat(timedOut.get(10, TimeUnit.SECONDS)).as("interrupted, then cleared").isTrue();
    worker.join(10_000);
  }
}
