package io.necrostack.backend;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.necrostack.core.Event;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The in-memory backend: FIFO, capacity, timeouts, settlement, drain detection, concurrency.
 * Every pulled delivery is settled before a test ends (checked in {@link #everythingSettled}).
 */
class InMemoryBackendTest {
  private static final Duration NO_WAIT = Duration.ZERO;
  private static final Duration WAIT = Duration.ofSeconds(5);

  private InMemoryBackend backend = new InMemoryBackend();
  private boolean checkSettled = true;

  @AfterEach
  void everythingSettled() {
    if (checkSettled) {
      assertThat(backend.unsettled()).as("every pulled delivery is settled").isZero();
    }
  }

  private static List<Event> events(String prefix, int n) {
    return IntStream.range(0, n).mapToObj(i -> Event.of(prefix + i)).collect(Collectors.toList());
  }

  private static List<String> types(List<Delivery> deliveries) {
    return deliveries.stream().map(d -> d.event().eventType()).collect(Collectors.toList());
  }

  private List<String> drainTypes() throws InterruptedException {
    List<String> out = new ArrayList<>();
    List<Delivery> batch;
    while (!(batch = backend.pull(100, NO_WAIT)).isEmpty()) {
      out.addAll(types(batch));
      backend.ackAll(batch);
    }
    return out;
  }

  @Test
  void deliversInEnqueueOrder() throws InterruptedException {
    backend.enqueue(Event.of("A"));
    backend.enqueueAll(events("B", 3));
    backend.enqueue(Event.of("C"));
    assertThat(drainTypes()).containsExactly("A", "B0", "B1", "B2", "C");
    assertThat(backend.isDrained()).isTrue();
  }

  @Test
  void deliversTheSameEventObject() throws InterruptedException {
    Event event = Event.of("A", Map.of("k", 1));
    backend.enqueue(event);
    List<Delivery> got = backend.pull(1, NO_WAIT);
    assertThat(got).hasSize(1);
    assertThat(got.get(0).event()).isEqualTo(event);
    assertThat(got.get(0).deliveryCount()).isEqualTo(1);
    assertThat(got.get(0).deliveryId()).isNotBlank();
    backend.ack(got.get(0));
  }

  @Test
  void aBatchPullTakesAtMostMaxEventsInOrder() throws InterruptedException {
    backend.enqueueAll(events("E", 5));
    List<Delivery> first = backend.pull(3, NO_WAIT);
    assertThat(types(first)).containsExactly("E0", "E1", "E2");
    assertThat(backend.size()).isEqualTo(2);
    assertThat(backend.unsettled()).isEqualTo(3);
    List<Delivery> second = backend.pull(10, NO_WAIT);
    assertThat(types(second)).containsExactly("E3", "E4");
    assertThat(second.stream().map(Delivery::deliveryId).collect(Collectors.toSet()))
        .doesNotContainAnyElementsOf(
            first.stream().map(Delivery::deliveryId).collect(Collectors.toSet()));
    backend.ackAll(first);
    backend.ackAll(second);
  }

  @Test
  void maxEventsMustBePositive() {
    assertThatThrownBy(() -> backend.pull(0, NO_WAIT))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  @Timeout(10)
  void aPullOnAnEmptyBackendReturnsEmptyAfterTheTimeout() throws InterruptedException {
    long start = System.nanoTime();
    List<Delivery> got = backend.pull(1, Duration.ofMillis(200));
    long elapsedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
    assertThat(got).isEmpty();
    assertThat(elapsedMs).isBetween(150L, 5_000L);
  }

  @Test
  @Timeout(10)
  void aZeroTimeoutDoesNotWait() throws InterruptedException {
    long start = System.nanoTime();
    assertThat(backend.pull(1, NO_WAIT)).isEmpty();
    assertThat(backend.pull(1, Duration.ofMillis(-5))).isEmpty();
    assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start)).isLessThan(2_000L);
  }

  @Test
  @Timeout(10)
  void aVeryLongTimeoutIsAllowedAndAnEventWakesThePull() throws Exception {
    ExecutorService pool = Executors.newSingleThreadExecutor();
    try {
      Future<List<Delivery>> pull =
          pool.submit(() -> backend.pull(1, ChronoUnit.FOREVER.getDuration()));
      backend.enqueue(Event.of("LATE"));
      List<Delivery> got = pull.get(5, TimeUnit.SECONDS);
      assertThat(types(got)).containsExactly("LATE");
      backend.ackAll(got);
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  @Timeout(10)
  void aBlockedPullIsWokenByAnEnqueue() throws Exception {
    AtomicReference<List<Delivery>> result = new AtomicReference<>();
    Thread puller = new Thread(() -> {
      try {
        result.set(backend.pull(5, Duration.ofMinutes(1)));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    });
    puller.start();
    await().atMost(Duration.ofSeconds(5))
        .until(() -> puller.getState() == Thread.State.TIMED_WAITING);
    backend.enqueue(Event.of("WAKE"));
    puller.join(5_000);
    assertThat(puller.isAlive()).isFalse();
    assertThat(types(result.get())).containsExactly("WAKE");
    backend.ackAll(result.get());
  }

  @Test
  void capacityBoundsTheQueue() {
    backend = new InMemoryBackend(2);
    backend.enqueue(Event.of("A"));
    backend.enqueue(Event.of("B"));
    BackendFullException full =
        org.assertj.core.api.Assertions.catchThrowableOfType(
            BackendFullException.class, () -> backend.enqueue(Event.of("C")));
    assertThat(full).isNotNull().isInstanceOf(BackendException.class);
    assertThat(full.capacity()).isEqualTo(2);
    assertThat(full.getMessage()).contains("full").contains("capacity 2");
    assertThat(backend.size()).isEqualTo(2);
  }

  @Test
  void enqueueAllIsAllOrNothing() throws InterruptedException {
    backend = new InMemoryBackend(3);
    backend.enqueue(Event.of("A"));
    assertThatThrownBy(() -> backend.enqueueAll(events("B", 3)))
        .isInstanceOf(BackendFullException.class);
    assertThat(backend.size()).isEqualTo(1);
    backend.enqueueAll(events("C", 2)); // exactly fits
    assertThat(backend.size()).isEqualTo(3);
    assertThatThrownBy(() -> backend.enqueueAll(java.util.Arrays.asList(Event.of("D"), null)))
        .isInstanceOf(NullPointerException.class);
    assertThat(drainTypes()).containsExactly("A", "C0", "C1");
  }

  @Test
  void capacityCountsQueuedNotDeliveredEvents() throws InterruptedException {
    backend = new InMemoryBackend(1);
    backend.enqueue(Event.of("A"));
    List<Delivery> got = backend.pull(1, NO_WAIT);
    backend.enqueue(Event.of("B")); // room again: A is out for delivery
    backend.ackAll(got);
    assertThat(drainTypes()).containsExactly("B");
  }

  @Test
  void capacityMustBePositive() {
    assertThatThrownBy(() -> new InMemoryBackend(0)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void nackRedeliversAtTheHeadWithTheCountRaised() throws InterruptedException {
    backend.enqueueAll(events("E", 3));
    Delivery first = backend.pull(1, NO_WAIT).get(0);
    backend.nack(first, "try again");
    Delivery again = backend.pull(1, NO_WAIT).get(0);
    assertThat(again.event()).isEqualTo(first.event());
    assertThat(again.deliveryCount()).isEqualTo(2);
    backend.nack(again, "and again");
    Delivery third = backend.pull(1, NO_WAIT).get(0);
    assertThat(third.deliveryCount()).isEqualTo(3);
    backend.ack(third);
    assertThat(drainTypes()).containsExactly("E1", "E2");
    assertThat(backend.health().details()).containsEntry("nacked", 2L);
  }

  @Test
  void releasePutsBackInOrderWithoutCounting() throws InterruptedException {
    backend.enqueueAll(events("E", 4));
    List<Delivery> batch = backend.pull(3, NO_WAIT);
    backend.release(batch.subList(1, 3));
    backend.ack(batch.get(0));
    List<Delivery> again = backend.pull(10, NO_WAIT);
    assertThat(types(again)).containsExactly("E1", "E2", "E3");
    assertThat(again).allSatisfy(d -> assertThat(d.deliveryCount()).isEqualTo(1));
    backend.ackAll(again);
    assertThat(backend.isDrained()).isTrue();
  }

  @Test
  void settlingTwiceOrSettlingAForeignDeliveryIsRefused() throws InterruptedException {
    backend.enqueue(Event.of("A"));
    Delivery d = backend.pull(1, NO_WAIT).get(0);
    backend.ack(d);
    assertThatThrownBy(() -> backend.ack(d)).isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> backend.nack(d, "late")).isInstanceOf(IllegalStateException.class);
    InMemoryBackend other = new InMemoryBackend();
    other.enqueue(Event.of("B"));
    Delivery foreign = other.pull(1, NO_WAIT).get(0);
    assertThatThrownBy(() -> backend.ack(foreign)).isInstanceOf(IllegalArgumentException.class);
    other.ack(foreign);
    assertThat(other.isDrained()).isTrue();
  }

  @Test
  void drainedMeansNothingQueuedAndNothingUnsettled() throws InterruptedException {
    assertThat(backend.isDrained()).isTrue();
    backend.enqueue(Event.of("A"));
    assertThat(backend.isDrained()).isFalse();
    Delivery d = backend.pull(1, NO_WAIT).get(0);
    assertThat(backend.size()).isZero();
    assertThat(backend.isDrained()).as("a delivery is in flight").isFalse();
    backend.nack(d, "again");
    assertThat(backend.isDrained()).isFalse();
    Delivery again = backend.pull(1, NO_WAIT).get(0);
    backend.ack(again);
    assertThat(backend.isDrained()).isTrue();
  }

  @Test
  void commitEnqueuesTheEmittedEventsAndAcks() throws InterruptedException {
    backend.enqueueAll(events("IN", 2));
    Delivery d = backend.pull(1, NO_WAIT).get(0);
    backend.commit(d, events("OUT", 2));
    assertThat(backend.unsettled()).isZero();
    assertThat(drainTypes()).containsExactly("IN1", "OUT0", "OUT1");
  }

  @Test
  void aRefusedCommitNeitherEnqueuesNorAcks() throws InterruptedException {
    backend = new InMemoryBackend(2);
    backend.enqueueAll(events("IN", 2));
    Delivery d = backend.pull(1, NO_WAIT).get(0);
    assertThatThrownBy(() -> backend.commit(d, events("OUT", 2)))
        .isInstanceOf(BackendFullException.class);
    assertThat(backend.unsettled()).isEqualTo(1);
    assertThat(backend.size()).isEqualTo(1);
    backend.release(List.of(d));
    assertThat(drainTypes()).containsExactly("IN0", "IN1");
  }

  @Test
  void healthReportsTheQueue() throws InterruptedException {
    backend = new InMemoryBackend(10);
    backend.enqueueAll(events("E", 3));
    List<Delivery> d = backend.pull(1, NO_WAIT);
    BackendHealth health = backend.health();
    assertThat(health.up()).isTrue();
    assertThat(health.description()).contains("2 queued").contains("1 unsettled");
    assertThat(health.details())
        .containsEntry("queued", 2)
        .containsEntry("unsettled", 1)
        .containsEntry("capacity", 10)
        .containsEntry("enqueued", 3L);
    backend.ackAll(d);
    drainTypes();
    backend.close();
    assertThat(backend.health().up()).isFalse();
  }

  @Test
  @Timeout(10)
  void closeWakesABlockedPullWhichReturnsEmpty() throws Exception {
    checkSettled = false;
    AtomicReference<Object> result = new AtomicReference<>();
    CountDownLatch returned = new CountDownLatch(1);
    Thread puller = new Thread(() -> {
      try {
        result.set(backend.pull(1, Duration.ofMinutes(5)));
      } catch (Throwable t) {
        result.set(t);
      } finally {
        returned.countDown();
      }
    });
    puller.start();
    await().atMost(Duration.ofSeconds(5))
        .until(() -> puller.getState() == Thread.State.TIMED_WAITING);
    backend.close();
    assertThat(returned.await(5, TimeUnit.SECONDS)).as("pull returned after close").isTrue();
    assertThat(result.get()).isEqualTo(List.of());
  }

  @Test
  void afterCloseCallsAreRefusedAndClosingTwiceIsHarmless() throws InterruptedException {
    backend.enqueue(Event.of("A"));
    Delivery d = backend.pull(1, NO_WAIT).get(0);
    backend.ack(d);
    backend.close();
    backend.close();
    assertThatThrownBy(() -> backend.enqueue(Event.of("B")))
        .isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> backend.enqueueAll(List.of(Event.of("B"))))
        .isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> backend.pull(1, NO_WAIT)).isInstanceOf(IllegalStateException.class);
  }

  @Test
  @Timeout(30)
  void concurrentProducersAndConsumersDeliverEveryEventExactlyOnce() throws Exception {
    int producers = 4;
    int consumers = 4;
    int perProducer = 2_500;
    int total = producers * perProducer;
    backend = new InMemoryBackend(500); // small: producers meet a full queue and retry
    Set<UUID> sent = ConcurrentHashMap.newKeySet();
    Map<UUID, Integer> received = new ConcurrentHashMap<>();
    AtomicInteger receivedCount = new AtomicInteger();
    AtomicInteger fullRetries = new AtomicInteger();
    CountDownLatch go = new CountDownLatch(1);
    ExecutorService pool = Executors.newFixedThreadPool(producers + consumers);
    List<Future<?>> tasks = new ArrayList<>();
    try {
      for (int p = 0; p < producers; p++) {
        int producer = p;
        tasks.add(pool.submit(() -> {
          go.await();
          for (int i = 0; i < perProducer; i++) {
            Event e = Event.of("P" + producer, Map.of("i", i));
            sent.add(e.id());
            while (true) {
              try {
                if (i % 10 == 0) {
                  backend.enqueueAll(List.of(e));
                } else {
                  backend.enqueue(e);
                }
                break;
              } catch (BackendFullException full) {
                fullRetries.incrementAndGet();
                Thread.onSpinWait();
              }
            }
          }
          return null;
        }));
      }
      for (int c = 0; c < consumers; c++) {
        tasks.add(pool.submit(() -> {
          go.await();
          while (receivedCount.get() < total) {
            List<Delivery> batch = backend.pull(16, Duration.ofMillis(20));
            for (Delivery d : batch) {
              received.merge(d.event().id(), 1, Integer::sum);
            }
            backend.ackAll(batch);
            receivedCount.addAndGet(batch.size());
          }
          return null;
        }));
      }
      go.countDown();
      for (Future<?> task : tasks) {
        task.get(25, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
    }
    assertThat(sent).hasSize(total);
    assertThat(received.keySet()).isEqualTo(sent);
    assertThat(received.values()).allMatch(n -> n == 1);
    assertThat(receivedCount.get()).isEqualTo(total);
    assertThat(backend.isDrained()).isTrue();
  }

  @Test
  void perProducerOrderIsKeptUnderConcurrency() throws Exception {
    // Two producers interleave, but each producer's events come out in its own order.
    CountDownLatch go = new CountDownLatch(1);
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try {
      List<Future<?>> tasks = new ArrayList<>();
      for (String producer : List.of("X", "Y")) {
        tasks.add(pool.submit(() -> {
          go.await();
          for (int i = 0; i < 1_000; i++) {
            backend.enqueue(Event.of(producer, Map.of("i", i)));
          }
          return null;
        }));
      }
      go.countDown();
      for (Future<?> t : tasks) {
        t.get(10, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
    }
    Map<String, List<Integer>> seen = new java.util.HashMap<>();
    List<Delivery> batch;
    while (!(batch = backend.pull(64, NO_WAIT)).isEmpty()) {
      for (Delivery d : batch) {
        seen.computeIfAbsent(d.event().eventType(), k -> new ArrayList<>())
            .add((Integer) d.event().payload().get("i"));
      }
      backend.ackAll(batch);
    }
    List<Integer> expected = IntStream.range(0, 1_000).boxed().collect(Collectors.toList());
    assertThat(seen.get("X")).isEqualTo(expected);
    assertThat(seen.get("Y")).isEqualTo(expected);
  }
}
