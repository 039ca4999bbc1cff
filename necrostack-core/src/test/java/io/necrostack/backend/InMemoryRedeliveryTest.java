package io.necrostack.backend;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.necrostack.core.DeadLetter;
import io.necrostack.core.Event;
import io.necrostack.core.FailureOutcome;
import io.necrostack.core.HandlerPolicy;
import io.necrostack.core.InMemoryDeadLetters;
import io.necrostack.core.Organ;
import io.necrostack.core.Spine;
import io.necrostack.core.SpineStats;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The in-memory backend keeps the promises the Redis backend keeps: a nacked event is
 * redelivered at most up to its max deliveries and then dead-lettered into the backend's own
 * store, so a poison cannot starve the queue; delayed redeliveries due together come back in
 * order.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class InMemoryRedeliveryTest {
  private final AtomicLong clock = new AtomicLong(1_000_000_000L);

  private static Delivery pullOne(InMemoryBackend backend) throws InterruptedException {
    List<Delivery> got = backend.pull(1, Duration.ZERO);
    assertThat(got).hasSize(1);
    return got.get(0);
  }

  @Test
  void aNackAfterTheLastDeliveryDeadLettersTheEventInsteadOfRedeliveringIt() throws Exception {
    InMemoryBackend backend = new InMemoryBackend(InMemoryBackend.UNBOUNDED, 3);
    Event poison = Event.of("POISON");
    backend.enqueue(poison);

    for (int delivery = 1; delivery <= 3; delivery++) {
      Delivery d = pullOne(backend);
      assertThat(d.deliveryCount()).isEqualTo(delivery);
      backend.nack(d, "failed on delivery " + delivery);
    }

    assertThat(backend.pull(1, Duration.ZERO)).as("no fourth delivery").isEmpty();
    assertThat(backend.isDrained()).isTrue();
    assertThat(backend.deadLetters().list()).singleElement().satisfies(letter -> {
      assertThat(letter.event()).isEqualTo(poison);
      assertThat(letter.reason()).isEqualTo("exceeded max deliveries: delivery 4 > 3");
      assertThat(letter.errorMessage()).isEqualTo("failed on delivery 3");
      assertThat(letter.attempts()).isEqualTo(3);
    });
    assertThat(backend.health().details()).containsEntry("dead_letters", 1L);
  }

  @Test
  void aDelayedNackCountsTooAndTheDefaultIsRedisOwn() throws Exception {
    InMemoryBackend backend = new InMemoryBackend(InMemoryBackend.UNBOUNDED,
        InMemoryBackend.DEFAULT_MAX_DELIVERIES, clock::get);
    backend.enqueue(Event.of("POISON"));

    for (int delivery = 1; delivery <= InMemoryBackend.DEFAULT_MAX_DELIVERIES; delivery++) {
      Delivery d = pullOne(backend);
      backend.nack(d, "later", Duration.ofSeconds(1));
      clock.addAndGet(TimeUnit.SECONDS.toNanos(1));
    }

    assertThat(InMemoryBackend.DEFAULT_MAX_DELIVERIES).isEqualTo(3);
    assertThat(backend.pull(1, Duration.ZERO)).isEmpty();
    assertThat(backend.deadLetters().count()).isEqualTo(1);
    assertThat(backend.isDrained()).isTrue();
  }

  @Test
  void delayedRedeliveriesDueTogetherComeBackInNackOrder() throws Exception {
    InMemoryBackend backend = new InMemoryBackend(InMemoryBackend.UNBOUNDED, 3, clock::get);
    backend.enqueueAll(List.of(Event.of("A"), Event.of("B"), Event.of("C"), Event.of("D")));
    List<Delivery> batch = backend.pull(4, Duration.ZERO);
    for (Delivery d : batch.subList(0, 3)) {
      backend.nack(d, "later", Duration.ofMillis(100)); // due at the same instant
    }
    backend.ack(batch.get(3));
    clock.addAndGet(TimeUnit.MILLISECONDS.toNanos(100));

    List<Delivery> again = backend.pull(10, Duration.ZERO);

    assertThat(again).extracting(d -> d.event().eventType()).containsExactly("A", "B", "C");
    backend.ackAll(again);
  }

  @Test
  void delayedRedeliveriesDueByThePullComeBackInTheOrderTheyWereDue() throws Exception {
    InMemoryBackend backend = new InMemoryBackend(InMemoryBackend.UNBOUNDED, 3, clock::get);
    backend.enqueueAll(List.of(Event.of("A"), Event.of("B"), Event.of("C")));
    List<Delivery> batch = backend.pull(3, Duration.ZERO);
    backend.nack(batch.get(0), "later", Duration.ofMillis(300));
    backend.nack(batch.get(1), "later", Duration.ofMillis(100));
    backend.nack(batch.get(2), "later", Duration.ofMillis(200));
    clock.addAndGet(TimeUnit.SECONDS.toNanos(1));

    List<Delivery> again = backend.pull(10, Duration.ZERO);

    assertThat(again).extracting(d -> d.event().eventType()).containsExactly("B", "C", "A");
    backend.ackAll(again);
  }

  @Test
  void aPoisonNackedByItsPolicyEndsInTheDeadLettersAndTheOthersAreHandled() {
    InMemoryBackend backend = new InMemoryBackend();
    ConcurrentLinkedQueue<Object> handled = new ConcurrentLinkedQueue<>();
    Organ picky = Organ.builder("picky").listensTo("E").handle(e -> {
      if (e.payload().containsKey("poison")) {
        throw new IllegalStateException("poison pill");
      }
      handled.add(e.payload().get("i"));
      return null;
    });
    Spine spine = Spine.builder().organs(picky).backend(backend)
        .handlerPolicy(HandlerPolicy.DEFAULT.withOutcome(FailureOutcome.NACK)).build();
    List<Event> start = new ArrayList<>();
    start.add(Event.of("E", java.util.Map.of("poison", true)));
    for (int i = 0; i < 5; i++) {
      start.add(Event.of("E", java.util.Map.of("i", i)));
    }

    SpineStats stats = spine.run(start.toArray(new Event[0]));

    assertThat(handled).containsExactly(0, 1, 2, 3, 4);
    assertThat(stats.nacked()).isEqualTo(3);
    assertThat(spine.deadLetters()).as("the Spine's store is the backend's")
        .isSameAs(backend.deadLetters());
    assertThat(spine.deadLetters().list()).extracting(DeadLetter::reason)
        .containsExactly("exceeded max deliveries: delivery 4 > 3");
    assertThat(backend.isDrained()).isTrue();
  }

  @Test
  void maxDeliveriesMustBePositive() {
    assertThatThrownBy(() -> new InMemoryBackend(10, 0))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("maxDeliveries");
  }

  @Test
  void aFullDeadLetterStoreDropsTheOldestAndCountsIt() {
    InMemoryDeadLetters store = new InMemoryDeadLetters(2);
    Instant now = Instant.now();
    for (String type : List.of("A", "B", "C")) {
      store.add(new DeadLetter(Event.of(type), "test", null, null, null, 1, now, now));
    }

    assertThat(store.list()).extracting(l -> l.event().eventType()).containsExactly("B", "C");
    assertThat(store.dropped()).isEqualTo(1);
  }
}
