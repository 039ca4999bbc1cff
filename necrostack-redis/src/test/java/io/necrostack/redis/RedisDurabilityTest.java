package io.necrostack.redis;

import io.necrostack.testing.RedisServer;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.necrostack.core.Event;
import io.necrostack.core.Organ;
import io.necrostack.core.Spine;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Redis killed and restarted mid-run, with AOF: every event handled, none lost. */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class RedisDurabilityTest {
  @RegisterExtension static final RedisServer server = RedisServer.durable();

  @Test
  void aSpineSurvivesRedisBeingKilledAndRestartedWithoutLosingEvents() throws Exception {
    String stream = TestRedis.uniqueStream("durable");
    int n = 1000;
    CountDownLatch reached = new CountDownLatch(1);
    CountDownLatch resume = new CountDownLatch(1);
    Set<Integer> done = ConcurrentHashMap.newKeySet();
    AtomicInteger doneCount = new AtomicInteger();
    Organ work = Organ.on("WORK", e -> {
      int i = ((Number) e.payload().get("i")).intValue();
      if (i == n / 3 && reached.getCount() > 0) {
        reached.countDown();
        // Hold this event while Redis dies and comes back: its commit meets the restart.
        resume.await(30, TimeUnit.SECONDS);
      }
      return Event.of("DONE", Map.of("i", i));
    });
    Organ finish = Organ.on("DONE", e -> {
      done.add(((Number) e.payload().get("i")).intValue());
      doneCount.incrementAndGet();
      return null;
    });
    RedisBackend backend = RedisBackend.create(RedisBackendConfig.builder()
        .url(server.url())
        .stream(stream)
        .consumer("durable-1")
        .blockTime(Duration.ofMillis(50))
        .commandTimeout(Duration.ofSeconds(2))
        .retryTime(Duration.ofSeconds(20))
        .build());
    List<Event> events = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      events.add(Event.of("WORK", Map.of("i", i)));
    }
    backend.enqueueAll(events);
    Spine spine = Spine.builder().organs(work, finish).backend(backend).ownsBackend(true)
        .maxPullFailures(1_000).build();

    spine.start();
    assertThat(reached.await(30, TimeUnit.SECONDS)).isTrue();
    server.kill();
    server.start();
    resume.countDown();
    await().atMost(Duration.ofSeconds(60)).until(() -> done.size() == n);
    // A second outage, this time while the Spine is pulling: it backs off and resumes.
    server.kill();
    assertThat(backend.health().up()).isFalse();
    server.start();
    backend.enqueue(Event.of("WORK", Map.of("i", n)));
    await().atMost(Duration.ofSeconds(60)).until(() -> done.size() == n + 1);
    spine.close();

    assertThat(doneCount.get()).as("no duplicates in this run").isEqualTo(n + 1);
    assertThat(backend.metrics().reconnections()).isGreaterThanOrEqualTo(2);
  }
}
