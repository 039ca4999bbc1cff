package io.necrostack.faults;

import io.necrostack.testing.RedisServer;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.necrostack.core.Event;
import io.necrostack.core.Organ;
import io.necrostack.core.Spine;
import io.necrostack.redis.RedisBackend;
import io.necrostack.redis.RedisBackendConfig;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Scenario 7: a handler slower than the claim idle time. Its entry is claimed by another
 * consumer, which handles it and commits; the slow one's commit is then refused (fenced), so
 * the output is written once. If every consumer is that slow for an entry, each claim raises
 * its delivery count and it is dead-lettered after max deliveries: the ping-pong is bounded.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class SlowConsumerTest {
  private static final Duration CLAIM_IDLE = Duration.ofMillis(500);
  private RedisServer server;
  @RegisterExtension final Resources toClose = new Resources();

  @BeforeEach
  void startRedis() throws Exception {
    server = toClose.add(RedisServer.ephemeral().start()); // closed last
  }

  private RedisBackend backend(String stream, String consumer) {
    RedisBackend b = RedisBackend.create(RedisBackendConfig.builder()
        .url(server.url()).stream(stream).consumer(consumer)
        .blockTime(Duration.ofMillis(50))
        .claimIdleTime(CLAIM_IDLE).claimInterval(Duration.ofMillis(100))
        .maxDeliveries(3).build());
    toClose.add(b);
    return b;
  }

  private Spine spine(RedisBackend backend, Organ organ) {
    Spine spine = Spine.builder().organs(organ).backend(backend).build();
    toClose.add(spine);
    return spine;
  }

  @Test
  void theSlowConsumersCommitIsRefusedAndTheOutputIsWrittenOnce() throws Exception {
    String stream = TestRedis.uniqueStream("slow");
    CountDownLatch slowStarted = new CountDownLatch(1);
    CountDownLatch fastHandled = new CountDownLatch(1);
    AtomicInteger handlings = new AtomicInteger();
    Organ slow = Organ.on("WORK", e -> {
      handlings.incrementAndGet();
      slowStarted.countDown();
      // Slower than the claim idle time: still busy when the other consumer has finished.
      assertThat(fastHandled.await(30, TimeUnit.SECONDS)).isTrue();
      return Event.of("DONE", Map.of("by", "slow"));
    });
    Organ fast = Organ.on("WORK", e -> {
      handlings.incrementAndGet();
      fastHandled.countDown();
      return Event.of("DONE", Map.of("by", "fast"));
    });
    RedisBackend slowBackend = backend(stream, "slow");
    RedisBackend fastBackend = backend(stream, "fast");
    slowBackend.enqueue(Event.of("WORK", Map.of("i", 0)));
    spine(slowBackend, slow).start();
    assertThat(slowStarted.await(30, TimeUnit.SECONDS)).isTrue();
    long claimStart = System.nanoTime();
    spine(fastBackend, fast).start(); // claims the entry once it has been idle 500 ms

    await().atMost(Duration.ofSeconds(30))
        .until(() -> slowBackend.metrics().fencedCommits() == 1);
    long tookOverMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - claimStart);
    // No ping-pong: nothing more happens to it over several claim idle times.
    await().during(CLAIM_IDLE.multipliedBy(4)).atMost(CLAIM_IDLE.multipliedBy(8))
        .until(() -> handlings.get() == 2);

    List<String> outputs = new ArrayList<>();
    try (TestRedis redis = new TestRedis(server.url())) {
      redis.sync().xrange(stream, io.lettuce.core.Range.create("-", "+")).forEach(m -> {
        String json = m.getBody().get("event");
        if (json.contains("\"DONE\"")) {
          outputs.add(String.valueOf(Event.fromJson(json).payload().get("by")));
        }
      });
      assertThat(redis.sync().xpending(stream, "necrostack").getCount()).isZero();
    }
    System.out.println("SLOW_CONSUMER handlings=" + handlings.get() + " outputs=" + outputs
        + " fenced_commits(slow)=" + slowBackend.metrics().fencedCommits()
        + " reclaimed(fast)=" + fastBackend.metrics().reclaimed()
        + " finished_after_ms=" + tookOverMs);
    assertThat(outputs).containsExactly("fast");
    assertThat(fastBackend.metrics().reclaimed()).isEqualTo(1);
  }

  @Test
  void anEntryTooSlowForEveryConsumerIsDeadLetteredAfterMaxDeliveries() throws Exception {
    String stream = TestRedis.uniqueStream("tooslow");
    AtomicInteger handlings = new AtomicInteger();
    AtomicInteger others = new AtomicInteger();
    Organ slowAll = Organ.on("WORK", e -> {
      if (((Number) e.payload().get("i")).intValue() == 0) {
        handlings.incrementAndGet();
        // Simulated work twice the claim idle time, for every consumer (not synchronisation):
        // the margin lets the other consumer's claim round run first even on a busy machine.
        LockSupport.parkNanos(CLAIM_IDLE.multipliedBy(2).toNanos());
      } else {
        others.incrementAndGet();
      }
      return Event.of("DONE", Map.of("i", e.payload().get("i")));
    });
    RedisBackend a = backend(stream, "a");
    RedisBackend b = backend(stream, "b");
    a.enqueue(Event.of("WORK", Map.of("i", 0)));
    spine(a, slowAll).start();
    spine(b, slowAll).start();

    await().atMost(Duration.ofSeconds(30))
        .until(() -> a.deadLetters().count() == 1);
    a.enqueue(Event.of("WORK", Map.of("i", 1))); // both still serve
    await().atMost(Duration.ofSeconds(30)).until(() -> others.get() >= 1);
    await().during(CLAIM_IDLE.multipliedBy(4)).atMost(CLAIM_IDLE.multipliedBy(8))
        .until(() -> handlings.get() <= 3);

    var letter = a.deadLetters().list(1).get(0);
    long fenced = a.metrics().fencedCommits() + b.metrics().fencedCommits();
    long outputs;
    try (TestRedis redis = new TestRedis(server.url())) {
      outputs = Streams.outputsInStream(redis, stream).getOrDefault(0L, 0);
    }
    System.out.println("TOO_SLOW handlings=" + handlings.get() + " fenced_commits=" + fenced
        + " outputs_for_it=" + outputs + " dead_letter_reason=" + letter.reason());
    assertThat(letter.reason()).isEqualTo("exceeded max deliveries: delivery 4 > 3");
    assertThat(handlings.get()).as("bounded by max deliveries").isEqualTo(3);
    assertThat(outputs).as("every slow commit fenced").isZero();
    assertThat(fenced).isEqualTo(3);
  }
}
