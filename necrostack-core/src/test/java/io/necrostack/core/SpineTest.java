package io.necrostack.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;

import io.necrostack.backend.BackendFullException;
import io.necrostack.backend.Delivery;
import io.necrostack.backend.InMemoryBackend;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The Spine: routing and order, sync and async handlers, metadata, declared emissions,
 * failures, max steps, background running and stopping, statistics and the event graph.
 *
 * <p>Every test ends with every pulled event settled: acked by the Spine, or given back to the
 * backend and then pulled and acked here (see {@link #everyPulledEventIsAccountedFor()}).
 */
@Timeout(20)
class SpineTest {
  private final InMemoryBackend backend = new InMemoryBackend();
  /** What the organs saw, in order: "organ:TYPE". */
  private final List<String> calls = Collections.synchronizedList(new ArrayList<>());
  /** Every event an organ received. */
  private final List<Event> received = Collections.synchronizedList(new ArrayList<>());
  private final List<InMemoryBackend> toCheck = new ArrayList<>(List.of(backend));

  @AfterEach
  void everyPulledEventIsAccountedFor() {
    for (InMemoryBackend b : toCheck) {
      assertThat(b.unsettled()).as("deliveries neither acked nor given back").isZero();
    }
  }

  /** A sync organ that records its calls and emits the given types. */
  private Organ recorder(String name, Set<String> listensTo, String... emits) {
    return Organ.builder(name)
        .listensTo(listensTo.toArray(String[]::new))
        .handle(
            e -> {
              calls.add(name + ":" + e.eventType());
              received.add(e);
              List<Event> out = new ArrayList<>();
              for (String type : emits) {
                out.add(Event.of(type));
              }
              return Emission.of(out);
            });
  }

  private Spine.Builder spine(Organ... organs) {
    return Spine.builder().backend(backend).organs(organs);
  }

  private Event receivedOfType(String type) {
    List<Event> matches =
        received.stream().filter(e -> e.eventType().equals(type)).collect(Collectors.toList());
    assertThat(matches).as("events of type %s received", type).hasSize(1);
    return matches.get(0);
  }

  private List<String> pullAndAckAll(InMemoryBackend b) throws InterruptedException {
    List<String> types = new ArrayList<>();
    List<Delivery> batch;
    while (!(batch = b.pull(100, Duration.ZERO)).isEmpty()) {
      batch.forEach(d -> types.add(d.event().eventType()));
      b.ackAll(batch);
    }
    return types;
  }

  // ------------------------------------------------------------------ routing and order

  @Test
  void routesToEveryListeningOrganInRegistrationOrderAndProcessesFifo() {
    Spine spine =
        spine(
                recorder("First", Set.of("START"), "A1", "A2"),
                recorder("Second", Set.of("START"), "B1"),
                recorder("Third", Set.of("A1"), "C1"),
                recorder("Sink", Set.of("A1", "A2", "B1", "C1")))
            .build();

    SpineStats stats = spine.run(Event.of("START"));

    // Breadth first: START's emissions (A1, A2 from First, then B1 from Second) are queued
    // in order, and C1, emitted while handling A1, waits behind them.
    assertThat(calls)
        .containsExactly(
            "First:START", "Second:START", "Third:A1", "Sink:A1", "Sink:A2", "Sink:B1", "Sink:C1");
    assertThat(stats.processed()).isEqualTo(5);
    assertThat(stats.emitted()).isEqualTo(4);
    assertThat(stats.totalHandlerErrors()).isZero();
    assertThat(backend.isDrained()).isTrue();
  }

  @Test
  void startEventsAreProcessedInTheirOrder() {
    Spine spine = spine(recorder("Sink", Set.of("E1", "E2", "E3"))).build();
    spine.run(Event.of("E1"), Event.of("E2"), Event.of("E3"));
    assertThat(calls).containsExactly("Sink:E1", "Sink:E2", "Sink:E3");
  }

  @Test
  void aHandlerReturningNullOrNoneEmitsNothing() {
    Spine spine =
        spine(Organ.on("A", e -> null), Organ.on("B", e -> Emission.none()),
            recorder("Sink", Set.of("A", "B"))).build();
    SpineStats stats = spine.run(Event.of("A"), Event.of("B"));
    assertThat(stats.processed()).isEqualTo(2);
    assertThat(stats.emitted()).isZero();
    assertThat(calls).containsExactly("Sink:A", "Sink:B");
  }

  @Test
  void anEventIsEmittedWithItsPayload() {
    Spine spine =
        spine(
                Organ.on("GREET", e -> Event.of("GREETED",
                    Map.of("message", "Hello, " + e.payload().get("name") + "!"))),
                recorder("Sink", Set.of("GREETED")))
            .build();
    spine.run(Event.of("GREET", Map.of("name", "NecroStack")));
    assertThat(receivedOfType("GREETED").payload())
        .containsExactly(Map.entry("message", "Hello, NecroStack!"));
  }

  // ------------------------------------------------------------------ sync and async

  @Test
  void asyncHandlersCompleteOnAnotherThread() {
    ExecutorService pool = Executors.newSingleThreadExecutor(r -> new Thread(r, "async-worker"));
    try {
      List<String> threads = Collections.synchronizedList(new ArrayList<>());
      AsyncOrgan async =
          Organ.onAsync(
              "A",
              e -> CompletableFuture.supplyAsync(
                  () -> {
                    threads.add("handled A on " + Thread.currentThread().getName());
                    return Emission.of(Event.of("B"), Event.of("C"));
                  },
                  pool));
      Organ sync =
          Organ.on("B", e -> {
            threads.add("handled B on " + Thread.currentThread().getName());
            return null;
          });
      Spine spine = spine(async, sync, recorder("Sink", Set.of("A", "C"))).build();

      SpineStats stats = spine.run(Event.of("A"));

      assertThat(threads)
          .containsExactly(
              "handled A on async-worker", "handled B on " + Thread.currentThread().getName());
      // The async organ's emission is enqueued like a sync one, in order.
      assertThat(calls).containsExactly("Sink:A", "Sink:C");
      assertThat(stats.processed()).isEqualTo(3);
      assertThat(stats.emitted()).isEqualTo(2);
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void anAsyncOrganIsAwaitedBeforeTheNextOrgan() {
    CompletableFuture<Emission> later = new CompletableFuture<>();
    AsyncOrgan async =
        Organ.builder("Slow").listensTo("A").handleAsync(e -> {
          calls.add("Slow:started");
          CompletableFuture.runAsync(() -> {
            calls.add("Slow:completing");
            later.complete(Event.of("DONE"));
          });
          return later;
        });
    Spine spine = spine(async, recorder("Next", Set.of("A", "DONE"))).build();
    spine.run(Event.of("A"));
    assertThat(calls).containsExactly("Slow:started", "Slow:completing", "Next:A", "Next:DONE");
  }

  @Test
  void failedAsyncStagesAreHandlerErrors() {
    AsyncOrgan failing =
        Organ.builder("Failing").listensTo("A")
            .handleAsync(e -> CompletableFuture.failedFuture(new IllegalStateException("no")));
    AsyncOrgan nullStage = Organ.builder("NullStage").listensTo("A").handleAsync(e -> null);
    AsyncOrgan throwing =
        Organ.builder("Throwing").listensTo("A").handleAsync(e -> {
          throw new IllegalArgumentException("thrown before a stage");
        });
    AsyncOrgan nothing =
        Organ.builder("Nothing").listensTo("A")
            .handleAsync(e -> CompletableFuture.completedFuture(null));
    Spine spine =
        spine(failing, nullStage, throwing, nothing, recorder("Sink", Set.of("A"))).build();
    SpineStats stats = spine.run(Event.of("A"));
    assertThat(stats.handlerErrors())
        .containsExactlyInAnyOrderEntriesOf(Map.of("Failing", 1L, "NullStage", 1L, "Throwing", 1L));
    assertThat(calls).containsExactly("Sink:A");
    assertThat(stats.processed()).isEqualTo(1);
    assertThat(backend.isDrained()).isTrue();
  }

  // ------------------------------------------------------------------ metadata

  @Test
  void emittedEventsCarryCorrelationCausationAndDepth() {
    Spine spine =
        spine(
                recorder("Ab", Set.of("A"), "B"),
                recorder("Bc", Set.of("B"), "C"),
                recorder("Sink", Set.of("C")))
            .build();
    Event a = Event.of("A");
    spine.run(a);

    Event seenA = receivedOfType("A");
    Event b = receivedOfType("B");
    Event c = receivedOfType("C");

    assertThat(seenA.metadata()).isEmpty();
    assertThat(b.correlationId()).contains(a.id().toString());
    assertThat(b.causationId()).contains(a.id().toString());
    assertThat(b.depth()).isEqualTo(1);
    assertThat(c.correlationId()).as("inherited across the chain").contains(a.id().toString());
    assertThat(c.causationId()).contains(b.id().toString());
    assertThat(c.depth()).isEqualTo(2);
  }

  @Test
  void aGivenCorrelationIdIsInherited() {
    Spine spine = spine(recorder("Ab", Set.of("A"), "B"), recorder("Sink", Set.of("B"))).build();
    Event a = Event.of("A").withMetadata(Event.CORRELATION_ID, "request-42");
    spine.run(a);
    Event b = receivedOfType("B");
    assertThat(b.correlationId()).contains("request-42");
    assertThat(b.causationId()).contains(a.id().toString());
  }

  // ------------------------------------------------------------------ declared emissions

  @Test
  void anUndeclaredEmissionFailsThatOrganOnly() {
    Organ liar =
        Organ.builder("Liar").listensTo("A").emits("B")
            .handle(e -> Emission.of(Event.of("B"), Event.of("C")));
    Organ honest =
        Organ.builder("Honest").listensTo("A").emits("D").handle(e -> Event.of("D"));
    Spine spine = spine(liar, honest, recorder("Sink", Set.of("B", "C", "D"))).build();

    SpineStats stats = spine.run(Event.of("A"));

    // Liar's whole emission is discarded (B too); Honest's D goes through.
    assertThat(calls).containsExactly("Sink:D");
    assertThat(stats.handlerErrors()).containsExactly(Map.entry("Liar", 1L));
    assertThat(stats.emitted()).isEqualTo(1);
    assertThat(stats.processed()).isEqualTo(2);
  }

  @Test
  void aDeclaredEmissionPasses() {
    Organ organ =
        Organ.builder("Declared").listensTo("A").emits("B", "C")
            .handle(e -> Emission.of(Event.of("C"), Event.of("B")));
    SpineStats stats = spine(organ, recorder("Sink", Set.of("B", "C"))).build().run(Event.of("A"));
    assertThat(calls).containsExactly("Sink:C", "Sink:B");
    assertThat(stats.totalHandlerErrors()).isZero();
  }

  // ------------------------------------------------------------------ failures

  @Test
  void aThrowingHandlerIsCountedAndTheSpineGoesOn() {
    AtomicInteger failures = new AtomicInteger();
    Organ broken =
        Organ.builder("Broken").listensTo("A").handle(e -> {
          failures.incrementAndGet();
          throw new IllegalStateException("boom");
        });
    Spine spine = spine(broken, recorder("Healthy", Set.of("A"), "B"),
        recorder("Sink", Set.of("B"))).build();

    SpineStats stats = spine.run(Event.of("A"), Event.of("A"));

    assertThat(failures.get()).isEqualTo(2);
    assertThat(stats.handlerErrors()).containsExactly(Map.entry("Broken", 2L));
    assertThat(calls).containsExactly("Healthy:A", "Healthy:A", "Sink:B", "Sink:B");
    assertThat(stats.processed()).isEqualTo(4);
    assertThat(backend.isDrained()).as("failed events are settled, not left hanging").isTrue();
  }

  @Test
  void unhandledTypesAreCountedPerType() {
    Spine spine = spine(recorder("Sink", Set.of("KNOWN"))).build();
    SpineStats stats =
        spine.run(Event.of("NOBODY"), Event.of("KNOWN"), Event.of("NOBODY"), Event.of("NOONE"));
    assertThat(stats.unhandled())
        .containsExactlyInAnyOrderEntriesOf(Map.of("NOBODY", 2L, "NOONE", 1L));
    assertThat(stats.totalUnhandled()).isEqualTo(3);
    assertThat(stats.processed()).isEqualTo(4);
    assertThat(calls).containsExactly("Sink:KNOWN");
    assertThat(backend.isDrained()).isTrue();
  }

  @Test
  void aRefusedEmissionStopsTheSpineAndGivesTheEventBack() throws InterruptedException {
    InMemoryBackend small = new InMemoryBackend(2);
    toCheck.add(small);
    Spine spine =
        Spine.builder().backend(small).organs(recorder("Fanout", Set.of("A"), "B", "B", "B"))
            .build();
    Event a = Event.of("A");

    SpineException e = catchThrowableOfType(SpineException.class, () -> spine.run(a));

    assertThat(e).isNotNull();
    assertThat(e).isNotInstanceOf(MaxStepsExceededException.class);
    assertThat(e.getCause()).isInstanceOf(BackendFullException.class);
    assertThat(e.getMessage()).contains("A").contains(a.id().toString());
    assertThat(spine.stats().enqueueFailures()).containsExactly(Map.entry("B", 3L));
    assertThat(spine.stats().processed()).isZero();
    assertThat(spine.isRunning()).isFalse();
    // The handled event is back in the queue, not lost, and nothing else is.
    assertThat(small.size()).isEqualTo(1);
    List<Delivery> back = small.pull(10, Duration.ZERO);
    assertThat(back).hasSize(1);
    assertThat(back.get(0).event()).isEqualTo(a);
    small.ackAll(back);
  }

  @Test
  void pullFailuresStopTheSpineAfterMaxPullFailures() {
    TestBackends.Down down = new TestBackends.Down();
    Spine spine =
        Spine.builder().backend(down).organs(recorder("Sink", Set.of("A"))).maxPullFailures(3)
            .build();
    BackendUnavailableException e =
        catchThrowableOfType(BackendUnavailableException.class, spine::run);
    assertThat(e).isNotNull().isInstanceOf(SpineException.class);
    assertThat(e.consecutiveFailures()).isEqualTo(3);
    assertThat(e.getCause()).hasMessageContaining("backend is down");
    assertThat(down.pulls.get()).isEqualTo(3);
    assertThat(spine.stats().backendErrors()).isEqualTo(3);
    assertThat(spine.isRunning()).isFalse();
  }

  @Test
  void fewerPullFailuresThanTheLimitAreRetried() {
    TestBackends.Flaky flaky = new TestBackends.Flaky(2);
    toCheck.add(flaky.inner);
    Spine spine =
        Spine.builder().backend(flaky).organs(recorder("Sink", Set.of("A"))).maxPullFailures(3)
            .build();
    SpineStats stats = spine.run(Event.of("A"), Event.of("A"));
    assertThat(stats.backendErrors()).isEqualTo(2);
    assertThat(stats.processed()).isEqualTo(2);
    assertThat(calls).containsExactly("Sink:A", "Sink:A");
  }

  @Test
  void aFailedAckIsCountedAndTheSpineGoesOn() {
    TestBackends.LostAckReply lossy = new TestBackends.LostAckReply();
    toCheck.add(lossy.inner);
    Spine spine = Spine.builder().backend(lossy).organs(recorder("Sink", Set.of("A"))).build();
    SpineStats stats = spine.run(Event.of("A"), Event.of("A"), Event.of("A"));
    assertThat(stats.ackErrors()).isEqualTo(1);
    assertThat(stats.processed()).isEqualTo(3);
    assertThat(lossy.acks.get()).isEqualTo(3);
    assertThat(calls).hasSize(3);
  }

  // ------------------------------------------------------------------ logging

  /** The test log (see simplelogger.properties), or fails if logging goes elsewhere. */
  private static List<String> logLines() throws java.io.IOException {
    java.nio.file.Path log = java.nio.file.Path.of("target", "necrostack-core-tests.log");
    assertThat(log).as("slf4j-simple writes the test log here").exists();
    return java.nio.file.Files.readAllLines(log, java.nio.charset.StandardCharsets.UTF_8);
  }

  @Test
  void aHandlerFailureIsLoggedWithEventIdTypeAndOrgan() throws Exception {
    Organ broken = Organ.builder("LoggedBroken").listensTo("LOGGED").handle(e -> {
      throw new IllegalStateException("logged boom");
    });
    Event event = Event.of("LOGGED");
    spine(broken).build().run(event);
    assertThat(logLines())
        .filteredOn(l -> l.contains(event.id().toString()))
        .anySatisfy(l -> assertThat(l)
            .contains("WARN")
            .contains("event_id=" + event.id())
            .contains("event_type=LOGGED")
            .contains("organ=LoggedBroken")
            .contains("logged boom"));
  }

  @Test
  void anUnhandledTypeIsLoggedOncePerType() throws Exception {
    String type = "UNHEARD_" + java.util.UUID.randomUUID().toString().replace("-", "");
    spine(recorder("Sink", Set.of("A"))).build()
        .run(Event.of(type), Event.of(type), Event.of(type));
    assertThat(logLines()).filteredOn(l -> l.contains("event_type=" + type)).hasSize(1);
  }

  // ------------------------------------------------------------------ max steps

  @Test
  void aSelfEmittingLoopExceedsMaxSteps() {
    AtomicInteger handled = new AtomicInteger();
    Organ loop =
        Organ.on("LOOP", e -> {
          handled.incrementAndGet();
          return Event.of("LOOP");
        });
    Spine spine = spine(loop).maxSteps(5).build();

    MaxStepsExceededException e =
        catchThrowableOfType(MaxStepsExceededException.class, () -> spine.run(Event.of("LOOP")));

    assertThat(e).isNotNull();
    assertThat(e.getMessage()).contains("Max steps exceeded");
    assertThat(e.maxSteps()).isEqualTo(5);
    assertThat(handled.get()).isEqualTo(5);
    assertThat(spine.stats().processed()).isEqualTo(5);
    // The sixth event waits in the backend: not lost, not half handled.
    assertThat(backend.size()).isEqualTo(1);
    assertThat(backend.unsettled()).isZero();
    assertThat(spine.isRunning()).isFalse();
  }

  @Test
  void theWaitingEventIsTheNextOfTheChain() throws InterruptedException {
    Spine spine = spine(Organ.on("LOOP", e -> Event.of("LOOP"))).maxSteps(3).build();
    assertThatThrownBy(() -> spine.run(Event.of("LOOP")))
        .isInstanceOf(MaxStepsExceededException.class);
    List<Delivery> waiting = backend.pull(10, Duration.ZERO);
    assertThat(waiting).hasSize(1);
    assertThat(waiting.get(0).event().depth()).isEqualTo(3);
    assertThat(waiting.get(0).deliveryCount()).isEqualTo(1);
    backend.ackAll(waiting);
  }

  @Test
  void exactlyMaxStepsEventsIsNotTooMany() {
    Spine spine =
        spine(recorder("Ab", Set.of("A"), "B"), recorder("Bc", Set.of("B"), "C"),
            recorder("Sink", Set.of("C"))).maxSteps(3).build();
    SpineStats stats = spine.run(Event.of("A"));
    assertThat(stats.processed()).isEqualTo(3);
  }

  @Test
  void theDefaultBoundForADrainableBackendIsTenThousand() {
    AtomicInteger handled = new AtomicInteger();
    Spine spine =
        spine(Organ.on("LOOP", e -> {
          handled.incrementAndGet();
          return Event.of("LOOP");
        })).maxDepth(100_000).build(); // the depth bound (1,000) would end the chain first
    assertThatThrownBy(() -> spine.run(Event.of("LOOP")))
        .isInstanceOf(MaxStepsExceededException.class)
        .hasMessageContaining("Max steps exceeded");
    assertThat(handled.get()).isEqualTo(Spine.DEFAULT_MAX_STEPS).isEqualTo(10_000);
    assertThat(backend.size()).isEqualTo(1);
  }

  @Test
  void aNonDrainableBackendHasNoDefaultBound() throws Exception {
    // A Spine serving a durable backend must not die at its 10,001st event.
    TestBackends.NonDrainable durable = new TestBackends.NonDrainable();
    toCheck.add(durable.inner);
    long chain = Spine.DEFAULT_MAX_STEPS + 50;
    AtomicInteger handled = new AtomicInteger();
    Organ loop =
        Organ.on("LOOP", e -> handled.incrementAndGet() < chain ? Event.of("LOOP") : null);
    Spine spine =
        Spine.builder().backend(durable).organs(loop).pollTimeout(Duration.ofMillis(20))
            .maxDepth(100_000) // the depth bound (1,000) would end the chain first
            .build();
    try {
      CompletableFuture<SpineStats> run = spine.start(Event.of("LOOP"));
      await().atMost(Duration.ofSeconds(15)).until(() -> spine.stats().processed() == chain);
      spine.stop();
      assertThat(run.get(10, TimeUnit.SECONDS).processed()).isEqualTo(chain);
      assertThat(durable.inner.isDrained()).isTrue();
    } finally {
      spine.close();
    }
  }

  @Test
  void anExplicitBoundAppliesToANonDrainableBackendToo() throws Exception {
    TestBackends.NonDrainable durable = new TestBackends.NonDrainable();
    toCheck.add(durable.inner);
    Spine spine =
        Spine.builder().backend(durable).organs(Organ.on("LOOP", e -> Event.of("LOOP")))
            .maxSteps(4).pollTimeout(Duration.ofMillis(20)).build();
    CompletableFuture<SpineStats> run = spine.start(Event.of("LOOP"));
    ExecutionException e =
        catchThrowableOfType(ExecutionException.class, () -> run.get(10, TimeUnit.SECONDS));
    assertThat(e.getCause()).isInstanceOf(MaxStepsExceededException.class);
    assertThat(spine.stats().processed()).isEqualTo(4);
    assertThat(durable.inner.size()).isEqualTo(1);
  }

  // ------------------------------------------------------------------ background running

  @Test
  void startAndStopServeANonDrainableBackendInTheBackground() throws Exception {
    TestBackends.NonDrainable durable = new TestBackends.NonDrainable();
    toCheck.add(durable.inner);
    Spine spine =
        Spine.builder().backend(durable).organs(recorder("Sink", Set.of("A", "B")))
            .pollTimeout(Duration.ofMillis(20)).build();
    try {
      CompletableFuture<SpineStats> run = spine.start(Event.of("A"));
      await().atMost(Duration.ofSeconds(10)).until(() -> spine.stats().processed() == 1);
      assertThat(spine.isRunning()).isTrue();
      assertThat(run).as("a non-drainable backend is served until stop").isNotDone();
      assertThatThrownBy(spine::run).isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("already running");

      durable.enqueue(Event.of("B"));
      await().atMost(Duration.ofSeconds(10)).until(() -> spine.stats().processed() == 2);

      spine.stop();
      SpineStats stats = run.get(10, TimeUnit.SECONDS);
      assertThat(stats.processed()).isEqualTo(2);
      assertThat(spine.isRunning()).isFalse();
      assertThat(calls).containsExactly("Sink:A", "Sink:B");
      assertThat(durable.inner.isDrained()).isTrue();
    } finally {
      spine.close();
    }
  }

  @Test
  void stopGivesBackTheRestOfTheBatch() throws Exception {
    TestBackends.NonDrainable durable = new TestBackends.NonDrainable();
    toCheck.add(durable.inner);
    CountDownLatch entered = new CountDownLatch(1);
    CountDownLatch proceed = new CountDownLatch(1);
    ConcurrentLinkedQueue<Boolean> waits = new ConcurrentLinkedQueue<>();
    Organ blocking =
        Organ.builder("Blocking").listensTo("B").handle(e -> {
          calls.add("Blocking:" + e.payload().get("i"));
          entered.countDown();
          // Recorded, not asserted here: the Spine would catch a failed assertion.
          waits.add(proceed.await(10, TimeUnit.SECONDS));
          return null;
        });
    durable.enqueueAll(List.of(
        Event.of("B", Map.of("i", 0)),
        Event.of("B", Map.of("i", 1)),
        Event.of("B", Map.of("i", 2))));
    Spine spine = Spine.builder().backend(durable).organs(blocking).batchSize(10).build();
    try {
      CompletableFuture<SpineStats> run = spine.start();
      assertThat(entered.await(10, TimeUnit.SECONDS)).isTrue();
      assertThat(durable.inner.unsettled()).as("the whole batch is out").isEqualTo(3);
      spine.stop();
      proceed.countDown();
      SpineStats stats = run.get(10, TimeUnit.SECONDS);

      assertThat(stats.processed()).isEqualTo(1);
      assertThat(waits).as("the handler was released, not timed out").containsExactly(true);
      assertThat(calls).containsExactly("Blocking:0");
      assertThat(durable.inner.unsettled()).isZero();
      List<Delivery> back = durable.inner.pull(10, Duration.ZERO);
      assertThat(back).extracting(d -> d.event().payload().get("i")).containsExactly(1, 2);
      assertThat(back).allSatisfy(d -> assertThat(d.deliveryCount()).isEqualTo(1));
      durable.inner.ackAll(back);
    } finally {
      proceed.countDown();
      spine.close();
    }
  }

  @Test
  void closeStopsAndClosesAnOwnedBackend() throws Exception {
    TestBackends.NonDrainable durable = new TestBackends.NonDrainable();
    Spine spine =
        Spine.builder().backend(durable).organs(recorder("Sink", Set.of("A")))
            .pollTimeout(Duration.ofMillis(20)).ownsBackend(true).build();
    CompletableFuture<SpineStats> run = spine.start(Event.of("A"));
    await().atMost(Duration.ofSeconds(10)).until(() -> spine.stats().processed() == 1);
    spine.close();
    assertThat(run.get(10, TimeUnit.SECONDS).processed()).isEqualTo(1);
    assertThat(durable.health().up()).isFalse();
    spine.close(); // twice is harmless
  }

  @Test
  void organLifecycleHooksRunOncePerRun() {
    List<String> hooks = Collections.synchronizedList(new ArrayList<>());
    Organ organ =
        new Organ() {
          @Override
          public Set<String> listensTo() {
            return Set.of("A");
          }

          @Override
          public Emission handle(Event event) {
            hooks.add("handle");
            return null;
          }

          @Override
          public void onStart() {
            hooks.add("start");
          }

          @Override
          public void onStop() {
            hooks.add("stop");
          }
        };
    spine(organ).build().run(Event.of("A"));
    assertThat(hooks).containsExactly("start", "handle", "stop");
  }

  @Test
  void anOrganThatFailsToStartStopsTheRunBeforeAnyEvent() {
    Organ organ =
        new Organ() {
          @Override
          public String name() {
            return "Grumpy";
          }

          @Override
          public Set<String> listensTo() {
            return Set.of("A");
          }

          @Override
          public Emission handle(Event event) {
            throw new AssertionError("must not be called");
          }

          @Override
          public void onStart() throws Exception {
            throw new java.io.IOException("no config");
          }
        };
    Spine spine = spine(organ).build();
    assertThatThrownBy(() -> spine.run(Event.of("A")))
        .isInstanceOf(SpineException.class)
        .hasMessageContaining("Grumpy");
    assertThat(spine.isRunning()).isFalse();
    assertThat(backend.size()).as("start events not enqueued").isZero();
  }

  // ------------------------------------------------------------------ stats and graph

  @Test
  void statsAreAnUnmodifiableSnapshot() {
    Organ broken = Organ.builder("Broken").listensTo("A").handle(e -> {
      throw new IllegalStateException("boom");
    });
    Spine spine = spine(broken).build();
    SpineStats first = spine.run(Event.of("A"), Event.of("UNKNOWN"));
    assertThat(first.processed()).isEqualTo(2);
    assertThat(first.handlerErrors()).containsExactly(Map.entry("Broken", 1L));
    assertThat(first.unhandled()).containsExactly(Map.entry("UNKNOWN", 1L));
    assertThat(first.enqueueFailures()).isEmpty();
    assertThat(first.backendErrors()).isZero();
    assertThat(first.ackErrors()).isZero();
    assertThatThrownBy(() -> first.handlerErrors().put("x", 1L))
        .isInstanceOf(UnsupportedOperationException.class);

    SpineStats second = spine.run(Event.of("A"));

    assertThat(second.processed()).as("counters accumulate across runs").isEqualTo(3);
    assertThat(second.handlerErrors()).containsExactly(Map.entry("Broken", 2L));
    assertThat(first.processed()).as("an earlier snapshot does not move").isEqualTo(2);
    assertThat(first.handlerErrors()).containsExactly(Map.entry("Broken", 1L));
  }

  @Test
  void theEventGraphRendersAsMermaidAndDot() {
    Organ greeter =
        Organ.builder("Greeter").listensTo("GREET").emits("GREETED").handle(e -> null);
    Organ printer = Organ.builder("Printer").listensTo("GREETED").handle(e -> null);
    Organ lambda = Organ.on("GREET", e -> null);
    Spine spine = spine(greeter, printer, lambda).build();
    EventGraph graph = spine.eventGraph();

    assertThat(graph.organs()).extracting(EventGraph.Node::name)
        .containsExactly("Greeter", "Printer", "on(GREET)");

    String mermaid = graph.toMermaid();
    assertThat(mermaid)
        .startsWith("flowchart LR\n")
        .contains("  t0([\"GREET\"])\n")
        .contains("  t1([\"GREETED\"])\n")
        .contains("  o0[\"Greeter\"]\n")
        .contains("  o1[\"Printer\"]\n")
        // Parentheses in a name must be inside quotes, or Mermaid fails to parse the label.
        .contains("  o2[\"on(GREET)\"]\n")
        .contains("  t0 --> o0\n")
        .contains("  o0 --> t1\n")
        .contains("  t1 --> o1\n")
        .contains("  t0 --> o2\n")
        .doesNotContain("o1 -->")
        .doesNotContain("o2 -->");

    String dot = graph.toDot();
    assertThat(dot)
        .startsWith("digraph necrostack {\n")
        .endsWith("}\n")
        .contains("\"GREET\" [shape=ellipse];")
        .contains("\"organ:Greeter\" [shape=box, label=\"Greeter\"];")
        .contains("\"GREET\" -> \"organ:Greeter\";")
        .contains("\"organ:Greeter\" -> \"GREETED\";")
        .contains("\"GREETED\" -> \"organ:Printer\";")
        .contains("\"GREET\" -> \"organ:on(GREET)\";");
    assertThat(dot.lines().filter(l -> l.contains("->")).count()).isEqualTo(4);
  }

  @Test
  void graphLabelsAreEscaped() {
    Organ odd = Organ.builder("Say \"hi\"").listensTo("A\"B").handle(e -> null);
    EventGraph graph = spine(odd).build().eventGraph();
    assertThat(graph.toDot()).contains("\"organ:Say \\\"hi\\\"\"").contains("\"A\\\"B\"");
    assertThat(graph.toMermaid()).contains("o0[\"Say #quot;hi#quot;\"]")
        .contains("([\"A#quot;B\"])");
  }
}
