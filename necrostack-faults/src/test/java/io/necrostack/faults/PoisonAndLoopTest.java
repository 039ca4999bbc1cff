package io.necrostack.faults;

import io.necrostack.testing.RedisServer;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.necrostack.core.DeadLetter;
import io.necrostack.core.Event;
import io.necrostack.core.FailureOutcome;
import io.necrostack.core.HandlerPolicy;
import io.necrostack.core.Organ;
import io.necrostack.core.RetryPolicy;
import io.necrostack.core.Spine;
import io.necrostack.redis.RedisBackend;
import io.necrostack.redis.RedisBackendConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Scenarios 2 and 3: a poison event (its handler always throws, or it crashes its consumer)
 * is dead-lettered after the configured attempts or deliveries, never retried forever; an
 * event that emits itself in a loop is stopped by the depth limit. The service keeps running
 * and handles the good events around them.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class PoisonAndLoopTest {
  private RedisServer server;
  @RegisterExtension final Resources toClose = new Resources();

  @BeforeEach
  void startRedis() throws Exception {
    server = toClose.add(RedisServer.ephemeral().start()); // closed last
  }

  private RedisBackend backend(String stream, String consumer, int maxDeliveries) {
    RedisBackend backend = RedisBackend.create(RedisBackendConfig.builder()
        .url(server.url()).stream(stream).consumer(consumer)
        .blockTime(Duration.ofMillis(50)).maxDeliveries(maxDeliveries).build());
    toClose.add(backend);
    return backend;
  }

  @Test
  void aHandlerThatAlwaysThrowsIsDeadLetteredAfterItsAttempts() throws Exception {
    String stream = TestRedis.uniqueStream("poison");
    AtomicInteger poisonAttempts = new AtomicInteger();
    Set<Long> handled = ConcurrentHashMap.newKeySet();
    Organ work = Organ.on("WORK", e -> {
      long i = ((Number) e.payload().get("i")).longValue();
      if (i < 0) {
        poisonAttempts.incrementAndGet();
        throw new IllegalStateException("poison pill " + i);
      }
      handled.add(i);
      return null;
    });
    RedisBackend backend = backend(stream, "poison-1", 3);
    int attempts = 3;
    Spine spine = Spine.builder().organs(work).backend(backend)
        .handlerPolicy(HandlerPolicy.DEFAULT
            .withRetry(RetryPolicy.exponentialBackoff(attempts, Duration.ofMillis(10),
                Duration.ofMillis(50)))
            // NACK on a Redis backend: dead-letter the entry in Redis with the reason.
            .withOutcome(FailureOutcome.NACK))
        .build();
    toClose.add(spine);
    for (int i = 0; i < 10; i++) {
      backend.enqueue(Event.of("WORK", Map.of("i", i == 5 ? -1 : i)));
    }

    spine.start();
    await().atMost(Duration.ofSeconds(30))
        .until(() -> handled.size() == 9 && backend.deadLetters().count() == 1);
    backend.enqueue(Event.of("WORK", Map.of("i", 100))); // and the service still runs
    await().atMost(Duration.ofSeconds(30)).until(() -> handled.contains(100L));
    spine.close();

    var letter = backend.deadLetters().list(10).get(0);
    System.out.println("POISON dead letter: " + letter.reason());
    assertThat(letter.reason())
        .contains("organ 'on(WORK)' failed")
        .contains("IllegalStateException: poison pill -1");
    assertThat(poisonAttempts.get()).as("attempts, not retried forever").isEqualTo(attempts);
    try (TestRedis raw = new TestRedis(server.url())) {
      assertThat(raw.sync().xpending(stream, "necrostack").getCount()).isZero();
    }
  }

  /**
   * A poison that kills its consumer (the handler halts the JVM, as an OOM or a native crash
   * would): each restart of the worker, with the same consumer name, re-reads its pending
   * entries, raising their delivery count; past max deliveries the entry is dead-lettered
   * instead of crashing the worker again.
   */
  @Test
  void aPoisonThatCrashesItsWorkerIsDeadLetteredAfterMaxDeliveries(@TempDir Path dir)
      throws Exception {
    String stream = TestRedis.uniqueStream("crashpoison");
    int n = 20;
    int poison = 10;
    int maxDeliveries = 3;
    try (RedisBackend producer = backend(stream, "producer", maxDeliveries)) {
      List<Event> events = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        events.add(Event.of("WORK", Map.of("i", i)));
      }
      producer.enqueueAll(events);
    }
    int lives = 0;
    int crashes = 0;
    RedisBackend inspector = backend(stream, "inspector", maxDeliveries);
    while (lives < maxDeliveries + 3) {
      lives++;
      WorkerProcess w = WorkerProcess.launch(dir, server.url(), stream, "poisoned",
          "--halt-on", Integer.toString(poison), "--max-deliveries",
          Integer.toString(maxDeliveries), "--block-ms", "50");
      toClose.add(w);
      try {
        await().atMost(Duration.ofSeconds(60)).until(() -> !w.process().isAlive()
            || (inspector.deadLetters().count() >= 1
                && HandlingLog.read(dir).distinctHandled(n) == n - 1));
      } catch (org.awaitility.core.ConditionTimeoutException e) {
        HandlingLog log = HandlingLog.read(dir);
        throw new AssertionError("life " + lives + ": dead letters "
            + inspector.deadLetters().count() + ", handled " + log.handled
            + "; worker output:\n" + w.output(), e);
      }
      if (!w.process().isAlive()) {
        assertThat(w.process().exitValue()).as("halted by the poison").isEqualTo(42);
        crashes++;
        continue;
      }
      w.stop();
      break;
    }

    HandlingLog log = HandlingLog.read(dir);
    List<io.necrostack.redis.DeadLetter> letters = inspector.deadLetters().list(100);
    System.out.println("CRASH_POISON lives=" + lives + " crashes=" + crashes
        + " dead_letters=" + letters.size() + " handled_distinct=" + log.distinctHandled(n)
        + " duplicate_handlings=" + log.duplicateHandlings());
    letters.forEach(l -> System.out.println("  " + l.originalId() + " " + l.reason()));
    assertThat(crashes).as("crashes before the dead-lettering").isEqualTo(maxDeliveries);
    assertThat(letters).hasSize(1);
    assertThat(letters.get(0).reason())
        .isEqualTo("exceeded max deliveries: delivery " + (maxDeliveries + 1) + " > "
            + maxDeliveries);
    assertThat(letters.get(0).event().orElseThrow().payload()).containsEntry("i", poison);
    assertThat(log.distinctHandled(n)).as("every other event handled").isEqualTo(n - 1);
    assertThat(Files.exists(dir)).isTrue();
  }

  @Test
  void aSelfEmittingLoopIsStoppedByTheDepthLimitAndTheServiceKeepsRunning() throws Exception {
    String stream = TestRedis.uniqueStream("loop");
    AtomicInteger loops = new AtomicInteger();
    Set<Long> handled = ConcurrentHashMap.newKeySet();
    Organ loop = Organ.on("LOOP", e -> {
      loops.incrementAndGet();
      return Event.of("LOOP", e.payload()); // emits itself forever
    });
    Organ work = Organ.on("WORK", e -> {
      handled.add(((Number) e.payload().get("i")).longValue());
      return null;
    });
    RedisBackend backend = backend(stream, "loop-1", 3);
    int maxDepth = 25;
    Spine spine = Spine.builder().organs(loop, work).backend(backend).maxDepth(maxDepth)
        .build();
    toClose.add(spine);

    spine.start(Event.of("LOOP", Map.of("n", 1)));
    await().atMost(Duration.ofSeconds(30)).until(() -> spine.deadLetters().count() == 1);
    backend.enqueue(Event.of("WORK", Map.of("i", 1)));
    await().atMost(Duration.ofSeconds(30)).until(() -> handled.contains(1L));
    spine.close();

    DeadLetter letter = spine.deadLetters().list().get(0);
    System.out.println("LOOP dead letter: " + letter.reason() + " / " + letter.errorMessage());
    assertThat(letter.reason()).isEqualTo("max depth exceeded");
    assertThat(letter.errorMessage()).isEqualTo("depth 26 is over maxDepth 25");
    assertThat(letter.event().depth()).isEqualTo(maxDepth + 1);
    // The start event (depth 0) and its 25 descendants were handled; the 26th was not written.
    assertThat(loops.get()).isEqualTo(maxDepth + 1);
    try (TestRedis raw = new TestRedis(server.url())) {
      assertThat(raw.sync().xpending(stream, "necrostack").getCount()).isZero();
      assertThat(raw.sync().xlen(stream)).as("26 LOOP entries and 1 WORK").isEqualTo(27);
    }
  }
}
