package io.necrostack.redis;

import io.necrostack.testing.RedisServer;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.necrostack.core.Event;
import io.necrostack.core.HandlerPolicy;
import io.necrostack.core.Organ;
import io.necrostack.core.Spine;
import io.necrostack.core.SpineStats;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Spines running on the Redis backend, end to end. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RedisSpineTest {
  @RegisterExtension static final RedisServer server = RedisServer.ephemeral();

  private RedisBackendConfig.Builder config(String stream) {
    return RedisBackendConfig.builder()
        .url(server.url())
        .stream(stream)
        .blockTime(Duration.ofMillis(50));
  }

  @Test
  void greetBecomesGreetedThroughRedis() throws Exception {
    String stream = TestRedis.uniqueStream("spine");
    List<Event> greeted = new ArrayList<>();
    Organ greeter = Organ.on("GREET",
        e -> Event.of("GREETED", Map.of("greeting", "Hello, " + e.payload().get("name"))));
    Organ listener = Organ.on("GREETED", e -> {
      synchronized (greeted) {
        greeted.add(e);
      }
      return null;
    });
    RedisBackend backend = RedisBackend.create(config(stream).build());
    Spine spine = Spine.builder().organs(greeter, listener).backend(backend).build();
    Event greet = Event.of("GREET", Map.of("name", "NecroStack"));

    CompletableFuture<SpineStats> done = spine.start(greet);
    await().atMost(Duration.ofSeconds(10)).until(() -> {
      synchronized (greeted) {
        return !greeted.isEmpty();
      }
    });
    spine.stop();
    SpineStats stats = done.get(10, TimeUnit.SECONDS);
    backend.close();

    Event out = greeted.get(0);
    assertThat(out.payload()).containsEntry("greeting", "Hello, NecroStack");
    assertThat(out.correlationId()).contains(greet.id().toString());
    assertThat(out.causationId()).contains(greet.id().toString());
    assertThat(out.depth()).isEqualTo(1);
    assertThat(stats.processed()).isEqualTo(2);
    assertThat(stats.emitted()).isEqualTo(1);
    try (TestRedis raw = new TestRedis(server.url())) {
      assertThat(raw.sync().xpending(stream, "necrostack").getCount()).isZero();
      assertThat(raw.sync().xlen(stream)).isEqualTo(2);
    }
  }

  @Test
  void twoSpinesInOneGroupHandleEveryEventOnce() throws Exception {
    String stream = TestRedis.uniqueStream("spines");
    int n = 500;
    Set<Object> seen = ConcurrentHashMap.newKeySet();
    AtomicInteger handled = new AtomicInteger();
    Organ work = Organ.on("WORK", e -> {
      seen.add(e.payload().get("i"));
      handled.incrementAndGet();
      return null;
    });
    RedisBackend a = RedisBackend.create(config(stream).consumer("a").build());
    RedisBackend b = RedisBackend.create(config(stream).consumer("b").build());
    List<Event> events = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      events.add(Event.of("WORK", Map.of("i", i)));
    }
    a.enqueueAll(events);
    Spine spineA = Spine.builder().organs(work).backend(a).ownsBackend(true).batchSize(8).build();
    Spine spineB = Spine.builder().organs(work).backend(b).ownsBackend(true).batchSize(8).build();

    spineA.start();
    spineB.start();
    await().atMost(Duration.ofSeconds(20)).until(() -> seen.size() == n);
    spineA.close();
    spineB.close();

    assertThat(handled.get()).isEqualTo(n);
    assertThat(spineA.stats().processed() + spineB.stats().processed()).isEqualTo(n);
  }

  @Test
  void aSlowSpineWhoseEventWasClaimedDoesNotEmitASecondCopy() throws Exception {
    String stream = TestRedis.uniqueStream("slow");
    CountDownLatch slowHolding = new CountDownLatch(1);
    CountDownLatch fastHandled = new CountDownLatch(1);
    Organ slowOrgan = Organ.on("IN", e -> {
      slowHolding.countDown();
      // Stuck past its timeout (it ignores the interrupt), so its lease is no longer
      // renewed: the fast Spine claims and handles the event meanwhile.
      awaitUninterruptibly(fastHandled);
      return Event.of("OUT", Map.of("by", "slow"));
    });
    Organ fastOrgan = Organ.on("IN", e -> {
      fastHandled.countDown();
      return Event.of("OUT", Map.of("by", "fast"));
    });
    RedisBackendConfig.Builder cfg = config(stream)
        .claimIdleTime(Duration.ofMillis(300))
        .claimInterval(Duration.ofMillis(50));
    RedisBackend slowBackend = RedisBackend.create(cfg.consumer("slow").build());
    RedisBackend fastBackend = RedisBackend.create(cfg.consumer("fast").build());
    Spine slow = Spine.builder().organs(slowOrgan).backend(slowBackend).ownsBackend(true)
        .handlerPolicy(HandlerPolicy.DEFAULT.withTimeout(Duration.ofMillis(100))).build();
    Spine fast = Spine.builder().organs(fastOrgan).backend(fastBackend).ownsBackend(true).build();

    slow.start(Event.of("IN"));
    assertThat(slowHolding.await(10, TimeUnit.SECONDS)).isTrue();
    fast.start();
    await().atMost(Duration.ofSeconds(20))
        .until(() -> slowBackend.metrics().fencedCommits() == 1);
    slow.close();
    fast.close();

    try (TestRedis raw = new TestRedis(server.url())) {
      List<Object> outputs = raw.sync().xrange(stream, io.lettuce.core.Range.create("-", "+"))
          .stream()
          .map(m -> Event.fromJson(m.getBody().get("event")))
          .filter(e -> e.eventType().equals("OUT"))
          .map(e -> e.payload().get("by"))
          .toList();
      assertThat(outputs).containsExactly("fast");
    }
  }
  @Test
  void theSpinesDeadLettersGoToTheDeadLetterStreamByDefault() throws Exception {
    String stream = TestRedis.uniqueStream("spine-dlq");
    RedisBackend backend = RedisBackend.create(config(stream).build());
    Organ failing = Organ.builder("failing").listensTo("BAD").handle(e -> {
      throw new IllegalStateException("cannot handle " + e.payload().get("n"));
    });
    Spine spine = Spine.builder().organs(failing).backend(backend)
        .handlerPolicy(io.necrostack.core.HandlerPolicy.DEFAULT
            .withOutcome(io.necrostack.core.FailureOutcome.DEAD_LETTER))
        .build();
    Event bad = Event.of("BAD", Map.of("n", 7));

    CompletableFuture<SpineStats> done = spine.start(bad);
    await().atMost(Duration.ofSeconds(20)).until(() -> spine.stats().deadLettered() == 1);
    spine.stop();
    done.get(10, TimeUnit.SECONDS);

    assertThat(spine.deadLetters()).isInstanceOf(RedisDeadLetters.class);
    List<io.necrostack.core.DeadLetter> letters = backend.deadLetters().list();
    assertThat(letters).singleElement().satisfies(letter -> {
      assertThat(letter.event().id()).isEqualTo(bad.id());
      assertThat(letter.reason()).isEqualTo("handler failed");
      assertThat(letter.organ()).isEqualTo("failing");
      assertThat(letter.errorClass()).isEqualTo(IllegalStateException.class.getName());
      assertThat(letter.errorMessage()).isEqualTo("cannot handle 7");
      assertThat(letter.attempts()).isEqualTo(1);
    });
    try (TestRedis raw = new TestRedis(server.url())) {
      Map<String, String> fields =
          raw.sync().xrange(stream + ":dlq", io.lettuce.core.Range.create("-", "+")).get(0)
              .getBody();
      assertThat(fields).containsKeys("original_id", "event", "reason", "failed_at");
      assertThat(Event.fromJson(fields.get("event")).id()).isEqualTo(bad.id());
      assertThat(raw.sync().xpending(stream, "necrostack").getCount()).as("acked").isZero();
    }
    backend.close();
  }

  @Test
  void aNackWithDelayIsRedeliveredThroughRedisUntilItsDeliveriesRunOut() throws Exception {
    String stream = TestRedis.uniqueStream("spine-nack");
    RedisBackend backend = RedisBackend.create(config(stream).maxDeliveries(3)
        .delayedPollInterval(Duration.ofMillis(20)).build());
    List<Integer> deliveries = new java.util.concurrent.CopyOnWriteArrayList<>();
    Organ flaky = Organ.builder("flaky").listensTo("TRY").handle(e -> {
      deliveries.add(deliveries.size() + 1);
      throw new IllegalStateException("still failing");
    });
    Spine spine = Spine.builder().organs(flaky).backend(backend)
        .handlerPolicy(io.necrostack.core.HandlerPolicy.DEFAULT
            .withOutcome(io.necrostack.core.FailureOutcome.NACK)
            .withRetry(io.necrostack.core.RetryPolicy.NONE.withNackDelay(Duration.ofMillis(50))))
        .build();

    CompletableFuture<SpineStats> done = spine.start(Event.of("TRY"));
    await().atMost(Duration.ofSeconds(20)).until(() -> backend.deadLetters().count() == 1);
    spine.stop();
    done.get(10, TimeUnit.SECONDS);

    assertThat(deliveries).as("three deliveries, then dead-lettered").hasSize(3);
    assertThat(backend.deadLetters().list(10).get(0).deliveryCount()).contains(3);
    backend.close();
  }

  /** Waits for the latch ignoring interrupts, as a stuck handler does; at most 30 s. */
  private static void awaitUninterruptibly(CountDownLatch latch) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (latch.getCount() > 0 && deadline - System.nanoTime() > 0) {
      try {
        latch.await(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
      } catch (InterruptedException e) {
        // the handler timeout's interrupt: ignored
      }
    }
  }
}
