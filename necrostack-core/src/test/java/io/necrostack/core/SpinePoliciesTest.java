package io.necrostack.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.necrostack.backend.BackendException;
import io.necrostack.backend.Delivery;
import io.necrostack.backend.InMemoryBackend;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The Spine's failure policies, timeouts, dead letters, depth limit and lifecycle. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SpinePoliciesTest {
  private static final RetryPolicy FAST_RETRY =
      RetryPolicy.exponentialBackoff(3, Duration.ofMillis(5), Duration.ofMillis(20));

  private final InMemoryBackend backend = new InMemoryBackend();

  private static Organ failingTimes(String name, String type, int failures, AtomicInteger calls,
      Event emits) {
    return Organ.builder(name).listensTo(type).handle(e -> {
      if (calls.incrementAndGet() <= failures) {
        throw new IllegalStateException("boom " + calls.get());
      }
      return emits;
    });
  }

  @Test
  void aFailedHandlingIsRetriedWithBackoffUntilItSucceeds() {
    AtomicInteger calls = new AtomicInteger();
    List<String> seen = Collections.synchronizedList(new ArrayList<>());
    Spine spine = Spine.builder()
        .organs(failingTimes("flaky", "GO", 2, calls, Event.of("DONE")),
            Organ.on("DONE", e -> {
              seen.add(e.eventType());
              return null;
            }))
        .backend(backend)
        .handlerPolicy(HandlerPolicy.DEFAULT.withRetry(FAST_RETRY))
        .build();

    SpineStats stats = spine.run(Event.of("GO"));

    assertThat(calls).hasValue(3);
    assertThat(seen).containsExactly("DONE");
    assertThat(stats.retried()).isEqualTo(2);
    assertThat(stats.handlerErrors()).isEmpty();
    assertThat(stats.processed()).isEqualTo(2);
    assertThat(backend.isDrained()).isTrue();
  }

  @Test
  void aRetryOfOneOrganDoesNotRerunAnOrganThatAlreadySucceeded() {
    AtomicInteger first = new AtomicInteger();
    AtomicInteger second = new AtomicInteger();
    ConcurrentLinkedQueue<String> outputs = new ConcurrentLinkedQueue<>();
    Organ ok = Organ.builder("ok").listensTo("GO").handle(e -> {
      first.incrementAndGet();
      return Event.of("FROM_OK");
    });
    Organ flaky = failingTimes("flaky", "GO", 1, second, Event.of("FROM_FLAKY"));
    Organ sink = Organ.builder("sink").listensTo("FROM_OK", "FROM_FLAKY").handle(e -> {
      outputs.add(e.eventType());
      return null;
    });
    Spine spine = Spine.builder().organs(ok, flaky, sink).backend(backend)
        .handlerPolicy(HandlerPolicy.DEFAULT.withRetry(FAST_RETRY)).build();

    spine.run(Event.of("GO"));

    assertThat(first).as("organ that succeeded ran once").hasValue(1);
    assertThat(second).hasValue(2);
    assertThat(outputs).containsExactly("FROM_OK", "FROM_FLAKY");
  }

  @Test
  void failuresMatchedAsPermanentAreNotRetried() {
    AtomicInteger calls = new AtomicInteger();
    Organ bad = Organ.builder("bad").listensTo("GO").handle(e -> {
      calls.incrementAndGet();
      throw new IllegalArgumentException("bad input");
    });
    Spine spine = Spine.builder().organs(bad).backend(backend)
        .handlerPolicy(HandlerPolicy.DEFAULT.withRetry(
            FAST_RETRY.notRetrying(IllegalArgumentException.class)))
        .build();

    SpineStats stats = spine.run(Event.of("GO"));

    assertThat(calls).hasValue(1);
    assertThat(stats.retried()).isZero();
    assertThat(stats.handlerErrors()).containsEntry("bad", 1L);
  }

  @Test
  void deadLetterOutcomeStoresTheEventWithOrganErrorAndAttempts() {
    AtomicInteger calls = new AtomicInteger();
    Event start = Event.of("GO", Map.of("k", 1));
    Spine spine = Spine.builder()
        .organs(failingTimes("always", "GO", 100, calls, null))
        .backend(backend)
        .handlerPolicy(new HandlerPolicy(Duration.ofSeconds(5), FAST_RETRY,
            FailureOutcome.DEAD_LETTER))
        .build();

    SpineStats stats = spine.run(start);

    assertThat(stats.deadLettered()).isEqualTo(1);
    assertThat(stats.processed()).isEqualTo(1);
    DeadLetter letter = spine.deadLetters().list().get(0);
    assertThat(letter.event().id()).isEqualTo(start.id());
    assertThat(letter.organ()).isEqualTo("always");
    assertThat(letter.errorClass()).isEqualTo(IllegalStateException.class.getName());
    assertThat(letter.errorMessage()).isEqualTo("boom 3");
    assertThat(letter.attempts()).isEqualTo(3);
    assertThat(letter.firstFailure()).isBeforeOrEqualTo(letter.lastFailure());
    assertThat(backend.isDrained()).as("acked after dead-lettering").isTrue();
  }

  @Test
  void deadLettersCanBeReplayedByType() {
    InMemoryDeadLetters store = new InMemoryDeadLetters(2);
    Event a = Event.of("A");
    store.add(letter(Event.of("OLD")));
    store.add(letter(a));
    store.add(letter(Event.of("B")));

    assertThat(store.dropped()).isEqualTo(1);
    assertThat(store.count()).isEqualTo(2);
    assertThat(store.replay(backend, "A"::equals)).isEqualTo(1);
    assertThat(backend.size()).isEqualTo(1);
    assertThat(store.list()).extracting(l -> l.event().eventType()).containsExactly("B");
    assertThat(store.purge()).isEqualTo(1);
    assertThat(store.count()).isZero();
  }

  private static DeadLetter letter(Event e) {
    java.time.Instant now = java.time.Instant.now();
    return new DeadLetter(e, "test", null, null, null, 1, now, now);
  }

  @Test
  void nackOutcomeLeavesTheEventWithTheBackendForRedelivery() {
    AtomicInteger calls = new AtomicInteger();
    ConcurrentLinkedQueue<Integer> deliveries = new ConcurrentLinkedQueue<>();
    Organ flaky = Organ.builder("flaky").listensTo("GO").handle(e -> {
      if (calls.incrementAndGet() == 1) {
        throw new IllegalStateException("first time");
      }
      deliveries.add(calls.get());
      return null;
    });
    Spine spine = Spine.builder().organs(flaky).backend(backend)
        .handlerPolicy(HandlerPolicy.DEFAULT.withOutcome(FailureOutcome.NACK)
            .withRetry(RetryPolicy.NONE.withNackDelay(Duration.ofMillis(20))))
        .build();

    SpineStats stats = spine.run(Event.of("GO"));

    assertThat(stats.nacked()).isEqualTo(1);
    assertThat(deliveries).containsExactly(2);
    assertThat(stats.processed()).isEqualTo(1);
    assertThat(backend.isDrained()).isTrue();
  }

  @Test
  void failOutcomeStopsTheSpineAndGivesTheEventBack() {
    Organ broken = Organ.builder("broken").listensTo("GO").handle(e -> {
      throw new IllegalStateException("fatal");
    });
    Spine spine = Spine.builder().organs(broken).backend(backend)
        .handlerPolicy(HandlerPolicy.DEFAULT.withOutcome(FailureOutcome.FAIL)).build();

    assertThatThrownBy(() -> spine.run(Event.of("GO"), Event.of("GO")))
        .isInstanceOf(SpineException.class)
        .hasMessageContaining("broken")
        .hasRootCauseMessage("fatal");
    assertThat(backend.size()).as("both events still with the backend").isEqualTo(2);
    assertThat(backend.unsettled()).isZero();
  }

  @Test
  void aSyncHandlerPastItsTimeoutIsInterruptedAndItsResultDiscarded() {
    ConcurrentLinkedQueue<String> out = new ConcurrentLinkedQueue<>();
    Organ slow = Organ.builder("slow").listensTo("GO").handle(e -> {
      new CountDownLatch(1).await(30, TimeUnit.SECONDS); // interrupted by the timeout
      return Event.of("LATE");
    });
    Spine spine = Spine.builder()
        .organs(slow, Organ.on("LATE", e -> {
          out.add("late");
          return null;
        }))
        .backend(backend)
        .handlerPolicy(HandlerPolicy.DEFAULT.withTimeout(Duration.ofMillis(100)))
        .build();

    SpineStats stats = spine.run(Event.of("GO"));

    assertThat(stats.timedOut()).isEqualTo(1);
    assertThat(stats.handlerErrors()).containsEntry("slow", 1L);
    assertThat(out).isEmpty();
    assertThat(stats.emitted()).isZero();
  }

  @Test
  void anAsyncHandlerPastItsTimeoutFailsAndItsLateResultIsNeverEmitted() throws Exception {
    CompletableFuture<Emission> never = new CompletableFuture<>();
    AsyncOrgan slow = Organ.onAsync("GO", e -> never);
    Spine spine = Spine.builder().organs(slow).backend(backend)
        .organPolicy(slow.name(), HandlerPolicy.DEFAULT.withTimeout(Duration.ofMillis(100)))
        .build();

    SpineStats stats = spine.run(Event.of("GO"));
    never.complete(Event.of("LATE"));

    assertThat(stats.timedOut()).isEqualTo(1);
    assertThat(stats.emitted()).isZero();
    assertThat(backend.size()).isZero();
  }

  /**
   * The late result arrives while the Spine still runs: it must not be emitted then either. A
   * marker enqueued after the completion is handled after anything the completion could have
   * enqueued (FIFO), so once the marker is handled the late event would have been seen.
   */
  @Test
  void anAsyncResultCompletedAfterItsTimeoutWhileTheSpineRunsIsNeverEmitted() throws Exception {
    CompletableFuture<Emission> never = new CompletableFuture<>();
    ConcurrentLinkedQueue<String> handled = new ConcurrentLinkedQueue<>();
    AsyncOrgan slow = Organ.onAsync("GO", e -> never);
    TestBackends.NonDrainable durable = new TestBackends.NonDrainable(backend);
    Spine spine = Spine.builder()
        .organs(slow,
            Organ.on("LATE", e -> {
              handled.add("LATE");
              return null;
            }),
            Organ.on("MARK", e -> {
              handled.add("MARK");
              return null;
            }))
        .backend(durable)
        .pollTimeout(Duration.ofMillis(20))
        .organPolicy(slow.name(), HandlerPolicy.DEFAULT.withTimeout(Duration.ofMillis(100)))
        .build();
    try {
      CompletableFuture<SpineStats> running = spine.start(Event.of("GO"));
      await().atMost(Duration.ofSeconds(20)).until(() -> spine.stats().timedOut() == 1);
      never.complete(Event.of("LATE"));
      durable.enqueue(Event.of("MARK"));
      await().atMost(Duration.ofSeconds(20)).until(() -> handled.contains("MARK"));
      spine.stop();
      SpineStats stats = running.get(20, TimeUnit.SECONDS);

      assertThat(handled).containsExactly("MARK");
      assertThat(stats.emitted()).isZero();
      assertThat(stats.timedOut()).isEqualTo(1);
    } finally {
      spine.close();
    }
  }

  /**
   * A sync handler that swallows the watchdog's interrupt and returns after its timeout: its
   * result is discarded and the attempt counts as timed out, not as a success.
   */
  @Test
  void aSyncHandlerThatIgnoresTheInterruptHasItsLateResultDiscardedAndCounted() {
    ConcurrentLinkedQueue<String> out = new ConcurrentLinkedQueue<>();
    AtomicInteger interruptsSeen = new AtomicInteger();
    Organ stubborn = Organ.builder("stubborn").listensTo("GO").handle(e -> {
      long giveUp = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      while (System.nanoTime() < giveUp) {
        if (Thread.interrupted()) { // the watchdog's interrupt, cleared and ignored
          interruptsSeen.incrementAndGet();
          break;
        }
        Thread.onSpinWait();
      }
      return Event.of("LATE");
    });
    Spine spine = Spine.builder()
        .organs(stubborn, Organ.on("LATE", e -> {
          out.add("late");
          return null;
        }))
        .backend(backend)
        .handlerPolicy(HandlerPolicy.DEFAULT.withTimeout(Duration.ofMillis(100)))
        .build();

    SpineStats stats = spine.run(Event.of("GO"));

    assertThat(interruptsSeen).as("the watchdog interrupted the handler").hasValue(1);
    assertThat(stats.timedOut()).isEqualTo(1);
    assertThat(stats.handlerErrors()).containsEntry("stubborn", 1L);
    assertThat(stats.emitted()).isZero();
    assertThat(out).isEmpty();
  }

  @Test
  void anEventPastTheMaxDepthIsDeadLetteredAndTheSpineKeepsRunning() {
    Organ loop = Organ.on("LOOP", e -> Event.of("LOOP"));
    Spine spine = Spine.builder().organs(loop).backend(backend).maxDepth(5).build();

    SpineStats stats = spine.run(Event.of("LOOP"));

    assertThat(stats.processed()).isEqualTo(6); // depths 0..5
    assertThat(stats.deadLettered()).isEqualTo(1);
    DeadLetter letter = spine.deadLetters().list().get(0);
    assertThat(letter.reason()).isEqualTo("max depth exceeded");
    assertThat(letter.event().depth()).isEqualTo(6);
  }

  @Test
  void refusedEmissionsCanBeDeadLetteredInsteadOfStoppingTheSpine() {
    InMemoryBackend small = new InMemoryBackend(1);
    Organ fanOut = Organ.on("GO", e -> Emission.of(Event.of("X"), Event.of("Y")));
    Spine spine = Spine.builder().organs(fanOut).backend(small)
        .emitFailurePolicy(EmitFailurePolicy.DEAD_LETTER).build();

    SpineStats stats = spine.run(Event.of("GO"));

    assertThat(stats.deadLettered()).isEqualTo(2);
    assertThat(stats.enqueueFailures()).containsEntry("X", 1L).containsEntry("Y", 1L);
    assertThat(spine.deadLetters().list()).extracting(DeadLetter::reason)
        .containsOnly("enqueue refused");
    assertThat(small.isDrained()).isTrue();
  }

  @Test
  void refusedEmissionsAreRetriedWithBackoffWhenAsked() {
    FlakyCommits flaky = new FlakyCommits(backend, 2);
    Organ next = Organ.on("GO", e -> Event.of("NEXT"));
    Spine spine = Spine.builder().organs(next).backend(flaky)
        .emitFailurePolicy(EmitFailurePolicy.retry(FAST_RETRY)).build();

    SpineStats stats = spine.run(Event.of("GO"));

    assertThat(flaky.refused).hasValue(2);
    assertThat(stats.retried()).isEqualTo(2);
    assertThat(stats.emitted()).isEqualTo(1);
    assertThat(stats.unhandled()).containsEntry("NEXT", 1L);
  }

  @Test
  void everyEventIsProcessedDeadLetteredOrLeftPendingNoneLost() {
    int n = 300;
    AtomicInteger succeeded = new AtomicInteger();
    Organ picky = Organ.builder("picky").listensTo("N").handle(e -> {
      int i = ((Number) e.payload().get("i")).intValue();
      if (i % 3 == 0) {
        throw new IllegalStateException("multiple of three");
      }
      succeeded.incrementAndGet();
      return null;
    });
    Spine spine = Spine.builder().organs(picky).backend(backend).concurrency(4)
        .handlerPolicy(HandlerPolicy.DEFAULT.withOutcome(FailureOutcome.DEAD_LETTER)).build();
    Event[] events = new Event[n];
    for (int i = 0; i < n; i++) {
      events[i] = Event.of("N", Map.of("i", i));
    }

    SpineStats stats = spine.run(events);

    long deadLettered = spine.deadLetters().count();
    long pending = backend.size() + backend.unsettled();
    assertThat(deadLettered).isEqualTo(100);
    assertThat(stats.processed()).isEqualTo(n);
    assertThat(succeeded.get() + deadLettered + pending).isEqualTo(n);
    assertThat(pending).isZero();
  }

  @Test
  void concurrencyIsBoundedAndTheSpineNeverHoldsMoreThanItsCapacity() {
    AtomicInteger current = new AtomicInteger();
    AtomicInteger peak = new AtomicInteger();
    AtomicInteger peakUnsettled = new AtomicInteger();
    Organ work = Organ.on("W", e -> {
      int now = current.incrementAndGet();
      peak.accumulateAndGet(now, Math::max);
      peakUnsettled.accumulateAndGet(backend.unsettled(), Math::max);
      java.util.concurrent.locks.LockSupport.parkNanos(200_000); // simulated work
      current.decrementAndGet();
      return null;
    });
    Spine spine = Spine.builder().organs(work).backend(backend).concurrency(4).batchSize(4)
        .build();
    Event[] events = new Event[200];
    java.util.Arrays.setAll(events, i -> Event.of("W"));

    SpineStats stats = spine.run(events);

    assertThat(stats.processed()).isEqualTo(200);
    assertThat(peak.get()).isBetween(1, 4);
    assertThat(peakUnsettled.get()).isLessThanOrEqualTo(4);
  }

  /**
   * Starts a Spine of two workers on ten "B" events, whose organ blocks until released; once
   * two handlings are in, stops it, releases them, and returns the stats and the count handled.
   */
  private Stopped stopWithTwoInFlight(int batchSize) throws Exception {
    TestBackends.NonDrainable durable = new TestBackends.NonDrainable(backend);
    CountDownLatch release = new CountDownLatch(1);
    CountDownLatch entered = new CountDownLatch(2);
    AtomicInteger handled = new AtomicInteger();
    Organ blocking = Organ.on("B", e -> {
      entered.countDown();
      release.await(30, TimeUnit.SECONDS);
      handled.incrementAndGet();
      return null;
    });
    Spine spine = Spine.builder().organs(blocking).backend(durable).concurrency(2)
        .batchSize(batchSize).pollTimeout(Duration.ofMillis(20)).build();
    Event[] events = new Event[10];
    java.util.Arrays.setAll(events, i -> Event.of("B"));

    CompletableFuture<SpineStats> running = spine.start(events);
    assertThat(entered.await(20, TimeUnit.SECONDS)).isTrue();
    spine.stop();
    release.countDown();
    return new Stopped(running.get(20, TimeUnit.SECONDS), handled.get());
  }

  private record Stopped(SpineStats stats, int handled) {}

  @Test
  void stoppingFinishesInFlightEventsAndLeavesTheRestQueued() throws Exception {
    Stopped stopped = stopWithTwoInFlight(1);
    SpineStats stats = stopped.stats();

    assertThat(stats.processed()).isEqualTo(stopped.handled());
    assertThat(stats.inFlight()).isZero();
    assertThat(backend.unsettled()).isZero();
    assertThat(stats.processed() + backend.size()).isEqualTo(10);
  }

  @Test
  void stoppingGivesBackEventsQueuedForAWorkerButNotStarted() throws Exception {
    // Capacity 8, two workers: the first pull takes 8, two start, six wait for a worker.
    Stopped stopped = stopWithTwoInFlight(8);
    SpineStats stats = stopped.stats();

    assertThat(stopped.handled()).as("only the two in flight").isEqualTo(2);
    assertThat(stats.processed()).isEqualTo(2);
    assertThat(backend.unsettled()).isZero();
    assertThat(backend.size()).as("the six queued given back, two never pulled").isEqualTo(8);
  }

  /** The ids of the events queued in the backend, in queue order. */
  private List<java.util.UUID> queuedIds() throws InterruptedException {
    List<java.util.UUID> ids = new ArrayList<>();
    for (Delivery d : backend.pull(100, Duration.ZERO)) {
      ids.add(d.event().id());
    }
    return ids;
  }

  @Test
  void stoppingDuringARetryGivesEverythingBackInOrder() throws Exception {
    TestBackends.NonDrainable durable = new TestBackends.NonDrainable(backend);
    Event[] events = {Event.of("E"), Event.of("E"), Event.of("E")};
    Organ firstFails = Organ.on("E", e -> {
      if (e.id().equals(events[0].id())) {
        throw new IllegalStateException("boom");
      }
      return null;
    });
    Spine spine = Spine.builder().organs(firstFails).backend(durable)
        .pollTimeout(Duration.ofMillis(20))
        .handlerPolicy(HandlerPolicy.DEFAULT.withRetry(
            RetryPolicy.exponentialBackoff(5, Duration.ofSeconds(30), Duration.ofSeconds(30))))
        .build();

    CompletableFuture<SpineStats> running = spine.start(events);
    await().atMost(Duration.ofSeconds(20)).until(() -> spine.stats().retried() == 1);
    spine.stop(); // the first waits for its retry; the other two are not started
    running.get(20, TimeUnit.SECONDS);

    assertThat(queuedIds()).as("the order they were pulled in")
        .containsExactly(events[0].id(), events[1].id(), events[2].id());
  }

  @Test
  void stoppingGivesBackKeyedEventsInTheirOrder() throws Exception {
    TestBackends.NonDrainable durable = new TestBackends.NonDrainable(backend);
    Event[] events = new Event[4];
    java.util.Arrays.setAll(events, i -> Event.of("K").withMetadata(Spine.ORDERING_KEY, "k"));
    CountDownLatch entered = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    Organ firstBlocks = Organ.on("K", e -> {
      if (e.id().equals(events[0].id())) {
        entered.countDown();
        release.await(30, TimeUnit.SECONDS);
      }
      return null;
    });
    // One pull takes all four; the three behind the first wait for it (same key).
    Spine spine = Spine.builder().organs(firstBlocks).backend(durable).concurrency(2)
        .batchSize(4).orderingKey(Spine::metadataOrderingKey)
        .pollTimeout(Duration.ofMillis(20)).build();

    CompletableFuture<SpineStats> running = spine.start(events);
    assertThat(entered.await(20, TimeUnit.SECONDS)).isTrue();
    spine.stop();
    release.countDown();
    SpineStats stats = running.get(20, TimeUnit.SECONDS);
    spine.close();

    assertThat(stats.processed()).isEqualTo(1);
    assertThat(queuedIds()).containsExactly(events[1].id(), events[2].id(), events[3].id());
  }

  @Test
  void workersAreKeptBetweenRunsAndEndAtClose() throws Exception {
    Set<Thread> first = ConcurrentHashMap.newKeySet();
    Set<Thread> second = ConcurrentHashMap.newKeySet();
    java.util.concurrent.CyclicBarrier both = new java.util.concurrent.CyclicBarrier(2);
    AtomicInteger run = new AtomicInteger(1);
    Organ work = Organ.on("W", e -> {
      (run.get() == 1 ? first : second).add(Thread.currentThread());
      if (run.get() == 1) {
        both.await(20, TimeUnit.SECONDS); // two events at once: both workers exist
      }
      return null;
    });
    Spine spine = Spine.builder().organs(work).backend(backend).concurrency(2).build();

    spine.run(Event.of("W"), Event.of("W"));
    run.set(2);
    spine.run(Event.of("W"), Event.of("W"), Event.of("W"));

    assertThat(first).hasSize(2);
    assertThat(first).containsAll(second);
    spine.close();
    await().atMost(Duration.ofSeconds(20))
        .until(() -> first.stream().noneMatch(Thread::isAlive));
  }

  @Test
  void aRetryWaitingWhenTheSpineStopsGivesItsEventBack() throws Exception {
    TestBackends.NonDrainable durable = new TestBackends.NonDrainable(backend);
    AtomicInteger calls = new AtomicInteger();
    Organ failing = failingTimes("failing", "GO", 100, calls, null);
    Spine spine = Spine.builder().organs(failing).backend(durable)
        .pollTimeout(Duration.ofMillis(20))
        .handlerPolicy(HandlerPolicy.DEFAULT.withRetry(
            RetryPolicy.exponentialBackoff(5, Duration.ofSeconds(30), Duration.ofSeconds(30))))
        .build();

    CompletableFuture<SpineStats> running = spine.start(Event.of("GO"));
    await().atMost(Duration.ofSeconds(20)).until(() -> calls.get() == 1);
    spine.stop();
    running.get(20, TimeUnit.SECONDS);

    assertThat(backend.size()).as("event given back").isEqualTo(1);
    assertThat(backend.unsettled()).isZero();
  }

  @Test
  void handlingTimesAreMeasuredPerOrgan() {
    // Slower than a microsecond, so every attempt is timed; parking is the handler's work
    // here, not a wait for anything, and parkNanos never returns early.
    Duration work = Duration.ofMillis(2);
    Spine spine = Spine.builder().organs(Organ.on("GO", e -> {
      long until = System.nanoTime() + work.toNanos();
      for (long left = work.toNanos(); left > 0; left = until - System.nanoTime()) {
        java.util.concurrent.locks.LockSupport.parkNanos(left);
      }
      return null;
    })).backend(backend).build();

    SpineStats stats = spine.run(Event.of("GO"), Event.of("GO"));

    OrganStats timing = stats.organs().get("on(GO)");
    assertThat(timing.count()).isEqualTo(2);
    assertThat(timing.max()).as("the longest attempt").isGreaterThanOrEqualTo(work);
    assertThat(timing.total()).as("both attempts").isGreaterThanOrEqualTo(work.multipliedBy(2));
    assertThat(timing.max()).isLessThanOrEqualTo(timing.total());
  }

  /** Refuses the first commits, then delegates; drainable through the in-memory backend. */
  static final class FlakyCommits extends TestBackends.NonDrainable
      implements io.necrostack.backend.Drainable {
    private final int failures;
    final AtomicInteger refused = new AtomicInteger();

    FlakyCommits(InMemoryBackend inner, int failures) {
      super(inner);
      this.failures = failures;
    }

    @Override
    public void commit(Delivery delivery, List<Event> emitted) {
      if (refused.get() < failures) {
        refused.incrementAndGet();
        throw new BackendException("refused on purpose");
      }
      super.commit(delivery, emitted);
    }

    @Override
    public boolean isDrained() {
      return inner.isDrained();
    }
  }
}
