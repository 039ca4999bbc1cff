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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Scenario 8: concurrency 64 with ordering keys, fed while it runs: events sharing a key are
 * handled one at a time in stream order, while different keys run in parallel.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class OrderingUnderLoadTest {

  @Test
  void perKeyOrderHoldsAtConcurrency64UnderLoad() throws Exception {
    int n = 20_000;
    int keys = 32;
    try (RedisServer server = RedisServer.ephemeral().start()) {
      String stream = TestRedis.uniqueStream("order");
      Map<String, Long> last = new ConcurrentHashMap<>();
      Map<String, AtomicInteger> activePerKey = new ConcurrentHashMap<>();
      AtomicLong violations = new AtomicLong();
      AtomicLong overlaps = new AtomicLong();
      AtomicInteger active = new AtomicInteger();
      AtomicInteger maxActive = new AtomicInteger();
      AtomicLong handled = new AtomicLong();
      Organ work = Organ.on("WORK", e -> {
        String key = (String) e.payload().get("k");
        long seq = ((Number) e.payload().get("seq")).longValue();
        if (activePerKey.computeIfAbsent(key, k -> new AtomicInteger()).incrementAndGet() > 1) {
          overlaps.incrementAndGet(); // two events of one key at once
        }
        maxActive.accumulateAndGet(active.incrementAndGet(), Math::max);
        Long previous = last.put(key, seq);
        if (seq != (previous == null ? 0 : previous + 1)) {
          violations.incrementAndGet();
        }
        // A little simulated work so that events overlap.
        LockSupport.parkNanos(ThreadLocalRandom.current().nextLong(200_000));
        active.decrementAndGet();
        activePerKey.get(key).decrementAndGet();
        handled.incrementAndGet();
        return null;
      });
      RedisBackend backend = RedisBackend.create(RedisBackendConfig.builder()
          .url(server.url()).stream(stream).consumer("ordered")
          .blockTime(Duration.ofMillis(50)).build());
      Spine spine = Spine.builder().organs(work).backend(backend).ownsBackend(true)
          .concurrency(64).orderingKey(Spine::metadataOrderingKey).build();
      try {
        spine.start();
        long start = System.nanoTime();
        // Produced while the Spine runs, in chunks: the load arrives as it is handled.
        CompletableFuture<Void> producer = CompletableFuture.runAsync(() -> {
          try (RedisBackend p = RedisBackend.create(RedisBackendConfig.builder()
              .url(server.url()).stream(stream).consumer("producer").build())) {
            long[] next = new long[keys];
            List<Event> chunk = new ArrayList<>();
            for (int i = 0; i < n; i++) {
              int k = ThreadLocalRandom.current().nextInt(keys);
              chunk.add(Event.of("WORK", Map.of("k", "key-" + k, "seq", next[k]++))
                  .withMetadata(Spine.ORDERING_KEY, "key-" + k));
              if (chunk.size() == 500) {
                p.enqueueAll(chunk);
                chunk.clear();
              }
            }
            p.enqueueAll(chunk);
          }
        });
        producer.get(60, TimeUnit.SECONDS);
        await().atMost(Duration.ofSeconds(90)).until(() -> handled.get() == n);
        double seconds = (System.nanoTime() - start) / 1e9;
        System.out.printf("ORDERING events=%d keys=%d concurrency=64 max_in_flight=%d"
                + " order_violations=%d same_key_overlaps=%d rate=%.0f/s%n",
            n, keys, maxActive.get(), violations.get(), overlaps.get(), n / seconds);
      } finally {
        spine.close();
      }
      assertThat(violations.get()).as("per-key order violations").isZero();
      assertThat(overlaps.get()).as("events of one key handled at once").isZero();
      assertThat(maxActive.get()).as("keys really ran in parallel").isGreaterThan(1);
    }
  }
}
