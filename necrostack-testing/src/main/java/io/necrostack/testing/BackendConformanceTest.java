package io.necrostack.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.necrostack.backend.Backend;
import io.necrostack.backend.DeadLetterStore;
import io.necrostack.backend.DelayedRedelivery;
import io.necrostack.backend.Delivery;
import io.necrostack.core.DeadLetters;
import io.necrostack.core.Event;
import io.necrostack.core.Organ;
import io.necrostack.core.Spine;
import io.necrostack.core.SpineStats;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The conformance suite every backend passes: the {@link Backend} contract as tests.
 *
 * <p>A backend's test extends this class, returns a fresh, empty backend from {@link
 * #newBackend()} and its {@link #features()}; cases for features the backend lacks are
 * skipped. Every case is bounded in time, and every event a case pulls is settled.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
public abstract class BackendConformanceTest {
  /** Generous bound for anything a case waits for: the machine may be slow and shared. */
  protected static final Duration PATIENCE = Duration.ofSeconds(20);

  private final List<Backend> opened = Collections.synchronizedList(new ArrayList<>());

  /** The backend the current case works on. */
  protected Backend backend;

  /** A new, empty backend isolated from other cases (own queue, stream or key). */
  protected abstract Backend newBackend() throws Exception;

  /** What the backend can do. */
  protected abstract BackendFeatures features();

  /**
   * A second consumer of the same queue as {@code first}, for backends with consumer groups.
   */
  protected Backend newConsumer(Backend first) throws Exception {
    throw new UnsupportedOperationException("consumer groups not supported");
  }

  /** A new backend on the same storage as {@code closed}, for durable backends. */
  protected Backend reopen(Backend closed) throws Exception {
    throw new UnsupportedOperationException("durability not supported");
  }

  @BeforeEach
  void openBackend() throws Exception {
    backend = track(newBackend());
  }

  @AfterEach
  void closeBackends() {
    synchronized (opened) {
      for (Backend b : opened) {
        b.close();
      }
      opened.clear();
    }
  }

  /** Registers a backend to be closed after the case. */
  protected Backend track(Backend b) {
    opened.add(b);
    return b;
  }

  /** Pulls until {@code count} deliveries arrived or {@link #PATIENCE} passed. */
  protected static List<Delivery> pullAtLeast(Backend b, int count) throws InterruptedException {
    List<Delivery> got = new ArrayList<>();
    long deadline = System.nanoTime() + PATIENCE.toNanos();
    while (got.size() < count && System.nanoTime() < deadline) {
      got.addAll(b.pull(count - got.size(), Duration.ofMillis(200)));
    }
    return got;
  }

  private static Event numbered(int i) {
    return Event.of("NUMBERED", Map.of("n", i));
  }

  private static int number(Delivery d) {
    return ((Number) d.event().payload().get("n")).intValue();
  }

  // ------------------------------------------------------------------ basics

  @Test
  void anEnqueuedEventComesBackWithEveryFieldAndItsMetadata() throws Exception {
    Event sent =
        Event.of("ORDER_PLACED", Map.of("order_id", "12345", "amount", 99.99, "tags",
                List.of("x", "ünï"), "nested", Map.of("ok", true)))
            .withMetadata(Map.of(Event.CORRELATION_ID, UUID.randomUUID().toString(), "k", "v"));
    backend.enqueue(sent);

    List<Delivery> got = pullAtLeast(backend, 1);

    assertThat(got).hasSize(1);
    Event back = got.get(0).event();
    assertThat(back.id()).isEqualTo(sent.id());
    assertThat(back.timestamp()).isEqualTo(sent.timestamp());
    assertThat(back.eventType()).isEqualTo("ORDER_PLACED");
    assertThat(back.payload()).isEqualTo(sent.payload());
    assertThat(back.metadata()).containsAllEntriesOf(sent.metadata());
    assertThat(got.get(0).deliveryCount()).isEqualTo(1);
    assertThat(got.get(0).deliveryId()).isNotBlank();
    backend.ack(got.get(0));
  }

  @Test
  void aPullOnAnEmptyBackendReturnsEmptyAfterItsTimeout() throws Exception {
    long start = System.nanoTime();
    List<Delivery> got = backend.pull(10, Duration.ofMillis(300));
    long waitedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);

    assertThat(got).isEmpty();
    assertThat(waitedMillis).as("returned after the timeout, not long after").isLessThan(
        PATIENCE.toMillis());
  }

  @Test
  void aPullTakesAtMostItsMaximum() throws Exception {
    List<Event> events = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      events.add(numbered(i));
    }
    backend.enqueueAll(events);

    List<Delivery> first = backend.pull(3, PATIENCE);
    assertThat(first).hasSizeBetween(1, 3);
    List<Delivery> rest = pullAtLeast(backend, 10 - first.size());

    assertThat(first.size() + rest.size()).isEqualTo(10);
    backend.ackAll(first);
    backend.ackAll(rest);
  }

  @Test
  void eventsComeOutInTheOrderTheyWentIn() throws Exception {
    assumeTrue(features().ordering(), "backend does not promise ordering");
    for (int i = 0; i < 50; i++) {
      backend.enqueue(numbered(i));
    }
    List<Event> batch = new ArrayList<>();
    for (int i = 50; i < 100; i++) {
      batch.add(numbered(i));
    }
    backend.enqueueAll(batch);

    List<Delivery> got = pullAtLeast(backend, 100);

    assertThat(got).extracting(BackendConformanceTest::number)
        .containsExactlyElementsOf(range(100));
    backend.ackAll(got);
  }

  @Test
  void anAcknowledgedEventIsNotDeliveredAgain() throws Exception {
    backend.enqueue(Event.of("ONCE"));
    List<Delivery> got = pullAtLeast(backend, 1);
    backend.ack(got.get(0));

    assertThat(backend.pull(1, Duration.ofMillis(300))).isEmpty();
  }

  @Test
  void commitEnqueuesTheEmittedEventsInOrderAndAcknowledgesTheInput() throws Exception {
    backend.enqueue(Event.of("CAUSE"));
    Delivery cause = pullAtLeast(backend, 1).get(0);

    backend.commit(cause, List.of(numbered(1), numbered(2), numbered(3)));

    List<Delivery> out = pullAtLeast(backend, 3);
    assertThat(out).extracting(d -> d.event().eventType()).containsOnly("NUMBERED");
    if (features().ordering()) {
      assertThat(out).extracting(BackendConformanceTest::number).containsExactly(1, 2, 3);
    }
    backend.ackAll(out);
    assertThat(backend.pull(1, Duration.ofMillis(300))).as("cause not redelivered").isEmpty();
  }

  @Test
  void aNackedEventIsDeliveredAgainWithItsCountRaised() throws Exception {
    assumeTrue(features().nackRedelivers(), "backend dead-letters on nack");
    Event sent = Event.of("RETRY_ME");
    backend.enqueue(sent);
    Delivery first = pullAtLeast(backend, 1).get(0);

    backend.nack(first, "handler failed");

    Delivery again = pullAtLeast(backend, 1).get(0);
    assertThat(again.event().id()).isEqualTo(sent.id());
    assertThat(again.deliveryCount()).isEqualTo(first.deliveryCount() + 1);
    backend.ack(again);
  }

  @Test
  void anEventNackedAgainAndAgainEndsInTheDeadLettersAndDoesNotStarveTheQueue()
      throws Exception {
    assumeTrue(backend instanceof DeadLetterStore, "backend keeps no dead letters");
    Event poison = Event.of("POISON");
    Event next = Event.of("NEXT");
    backend.enqueueAll(List.of(poison, next));
    Delivery nextDelivery = null;
    for (int nacks = 0; nextDelivery == null && nacks < 100; ) {
      List<Delivery> got = pullAtLeast(backend, 1);
      assertThat(got).as("something to deliver").isNotEmpty();
      if (got.get(0).event().id().equals(next.id())) {
        nextDelivery = got.get(0);
      } else {
        backend.nack(got.get(0), "poison pill");
        nacks++;
      }
    }

    assertThat(nextDelivery).as("the event behind the poison is delivered").isNotNull();
    backend.ack(nextDelivery);
    DeadLetters letters = ((DeadLetterStore) backend).deadLetters();
    await().atMost(PATIENCE).until(() -> letters.list().stream()
        .anyMatch(l -> l.event().id().equals(poison.id())));
    assertThat(backend.pull(1, Duration.ofMillis(300))).as("not redelivered").isEmpty();
  }

  @Test
  void aDelayedNackIsRedeliveredAfterItsDelayNotBefore() throws Exception {
    assumeTrue(backend instanceof DelayedRedelivery, "backend has no delayed redelivery");
    Event sent = Event.of("LATER");
    backend.enqueue(sent);
    Delivery first = pullAtLeast(backend, 1).get(0);
    long nackedAt = System.nanoTime();

    ((DelayedRedelivery) backend).nack(first, "try again later", Duration.ofMillis(700));

    List<Delivery> early = backend.pull(1, Duration.ZERO);
    assertThat(early).as("not redelivered at once").isEmpty();
    Delivery again = pullAtLeast(backend, 1).get(0);
    long waitedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - nackedAt);
    assertThat(again.event().id()).isEqualTo(sent.id());
    assertThat(waitedMillis).as("redelivered no sooner than the delay").isGreaterThanOrEqualTo(700);
    assertThat(again.deliveryCount()).isGreaterThan(first.deliveryCount());
    backend.ack(again);
  }

  @Test
  void aReleasedDeliveryIsNotLost() throws Exception {
    Event sent = Event.of("RELEASED");
    backend.enqueue(sent);
    Delivery first = pullAtLeast(backend, 1).get(0);

    backend.release(List.of(first));

    Backend source = backend;
    if (features().durable()) {
      backend.close();
      source = track(reopen(backend));
    }
    List<Delivery> again = pullAtLeast(source, 1);
    assertThat(again).extracting(d -> d.event().id()).containsExactly(sent.id());
    source.ack(again.get(0));
  }

  @Test
  void healthIsUpWhileOpen() {
    assertThat(backend.health().up()).isTrue();
    assertThat(backend.health().description()).isNotBlank();
  }

  @Test
  void closingWakesABlockedPull() throws Exception {
    CountDownLatch pulling = new CountDownLatch(1);
    CompletableFuture<List<Delivery>> blocked =
        CompletableFuture.supplyAsync(
            () -> {
              pulling.countDown();
              try {
                return backend.pull(1, Duration.ofSeconds(30));
              } catch (InterruptedException e) {
                throw new IllegalStateException(e);
              }
            });
    assertThat(pulling.await(PATIENCE.toSeconds(), TimeUnit.SECONDS)).isTrue();

    backend.close();

    // Either it returned empty, or the backend reported that it is closed: not stuck.
    await().atMost(PATIENCE).until(blocked::isDone);
    if (!blocked.isCompletedExceptionally()) {
      assertThat(blocked.join()).isEmpty();
    }
  }

  @Test
  void callsAfterCloseAreRefused() {
    backend.close();

    assertThatThrownBy(() -> backend.enqueue(Event.of("LATE")))
        .isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> backend.pull(1, Duration.ZERO))
        .isInstanceOf(IllegalStateException.class);
    backend.close(); // twice is harmless
  }

  @Test
  void concurrentProducersLoseAndDuplicateNothing() throws Exception {
    int producers = 4;
    int each = 250;
    ExecutorService pool = Executors.newFixedThreadPool(producers);
    try {
      List<Future<?>> done = new ArrayList<>();
      for (int p = 0; p < producers; p++) {
        int base = p * each;
        done.add(pool.submit(() -> {
          for (int i = 0; i < each; i++) {
            backend.enqueue(numbered(base + i));
          }
        }));
      }
      List<Delivery> got = pullAtLeast(backend, producers * each);
      for (Future<?> f : done) {
        f.get(PATIENCE.toSeconds(), TimeUnit.SECONDS);
      }
      got.addAll(backend.pull(producers * each, Duration.ofMillis(200)));

      assertThat(got).extracting(BackendConformanceTest::number)
          .containsExactlyInAnyOrderElementsOf(range(producers * each));
      backend.ackAll(got);
    } finally {
      pool.shutdownNow();
    }
  }

  // -------------------------------------------------------- optional features

  @Test
  void twoConsumersShareTheWorkAndEachEventGoesToOne() throws Exception {
    assumeTrue(features().consumerGroups(), "backend has no consumer groups");
    Backend second = track(newConsumer(backend));
    List<Event> events = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      events.add(numbered(i));
    }
    backend.enqueueAll(events);

    ConcurrentLinkedQueue<Integer> seen = new ConcurrentLinkedQueue<>();
    // Each consumer holds its first batch unacknowledged until the other has one too, so one
    // fast consumer cannot take everything: both must get work, and no event goes to both.
    CountDownLatch bothHaveWork = new CountDownLatch(2);
    ConcurrentLinkedQueue<Integer> firstSeen = new ConcurrentLinkedQueue<>();
    ConcurrentLinkedQueue<Integer> secondSeen = new ConcurrentLinkedQueue<>();
    CompletableFuture<?> first = CompletableFuture.runAsync(
        () -> drainInto(backend, seen, firstSeen, bothHaveWork, 200));
    CompletableFuture<?> other = CompletableFuture.runAsync(
        () -> drainInto(second, seen, secondSeen, bothHaveWork, 200));
    CompletableFuture.allOf(first, other).get(PATIENCE.toSeconds() * 2, TimeUnit.SECONDS);

    assertThat(firstSeen).as("the first consumer got work").isNotEmpty();
    assertThat(secondSeen).as("the second consumer got work").isNotEmpty();
    assertThat(seen).containsExactlyInAnyOrderElementsOf(range(200));
  }

  private static void drainInto(Backend b, ConcurrentLinkedQueue<Integer> seen,
      ConcurrentLinkedQueue<Integer> mine, CountDownLatch bothHaveWork, int total) {
    long deadline = System.nanoTime() + PATIENCE.toNanos();
    try {
      while (seen.size() < total && System.nanoTime() < deadline) {
        List<Delivery> got = b.pull(7, Duration.ofMillis(100));
        for (Delivery d : got) {
          seen.add(number(d));
          mine.add(number(d));
        }
        if (!got.isEmpty() && bothHaveWork.getCount() > 0) {
          bothHaveWork.countDown();
          bothHaveWork.await(PATIENCE.toMillis(), TimeUnit.MILLISECONDS);
        }
        b.ackAll(got);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Test
  void eventsAndUnsettledDeliveriesSurviveAReopen() throws Exception {
    assumeTrue(features().durable(), "backend is not durable");
    Event pulledNotAcked = Event.of("IN_FLIGHT");
    Event queued = Event.of("QUEUED");
    backend.enqueue(pulledNotAcked);
    assertThat(pullAtLeast(backend, 1)).extracting(d -> d.event().id())
        .containsExactly(pulledNotAcked.id());
    backend.enqueue(queued);
    backend.close();

    Backend reopened = track(reopen(backend));
    List<Delivery> got = pullAtLeast(reopened, 2);

    assertThat(got).extracting(d -> d.event().id())
        .containsExactlyInAnyOrder(pulledNotAcked.id(), queued.id());
    reopened.ackAll(got);
  }

  // ---------------------------------------------------------------- with a Spine

  @Test
  void aSpineRunsAChainThroughTheBackend() throws Exception {
    ConcurrentLinkedQueue<String> printed = new ConcurrentLinkedQueue<>();
    Organ greet = Organ.builder("greet").listensTo("GREET").emits("GREETED").handle(e ->
        Event.of("GREETED", Map.of("message", "Hello, " + e.payload().get("name") + "!")));
    Organ print = Organ.builder("print").listensTo("GREETED").handle(e -> {
      printed.add((String) e.payload().get("message"));
      return null;
    });
    Spine spine = Spine.builder().organs(greet, print).backend(backend)
        .pollTimeout(Duration.ofMillis(50)).build();

    CompletableFuture<SpineStats> run =
        spine.start(Event.of("GREET", Map.of("name", "NecroStack")));
    await().atMost(PATIENCE).until(() -> printed.size() == 1);
    spine.stop();
    SpineStats stats = run.get(PATIENCE.toSeconds(), TimeUnit.SECONDS);

    assertThat(printed).containsExactly("Hello, NecroStack!");
    assertThat(stats.processed()).isEqualTo(2);
    assertThat(stats.emitted()).isEqualTo(1);
    assertThat(backend.pull(1, Duration.ofMillis(200))).as("everything acknowledged").isEmpty();
  }

  private static List<Integer> range(int n) {
    List<Integer> list = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      list.add(i);
    }
    return list;
  }
}
