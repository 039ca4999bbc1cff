package io.necrostack.redis;

import io.necrostack.testing.RedisServer;
import static org.awaitility.Awaitility.await;

import io.necrostack.core.Event;
import io.necrostack.core.Organ;
import io.necrostack.core.Spine;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A rough end-to-end drain measurement, not run by the build (its name does not end in Test):
 * run it with {@code -Dtest=RedisDrainBenchmark}. A pre-filled stream is drained by a Spine
 * whose organ emits one event per input; prints inputs per second.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class RedisDrainBenchmark {
  @RegisterExtension static final RedisServer server = RedisServer.ephemeral();

  @Test
  void drain() throws Exception {
    int n = Integer.getInteger("bench.events", 100_000);
    String stream = TestRedis.uniqueStream("bench");
    AtomicLong outputs = new AtomicLong();
    Organ work = Organ.on("WORK", e -> Event.of("DONE", Map.of("i", e.payload().get("i"))));
    Organ done = Organ.on("DONE", e -> {
      outputs.incrementAndGet();
      return null;
    });
    RedisBackend backend = RedisBackend.create(RedisBackendConfig.builder()
        .url(server.url()).stream(stream).consumer("bench").batchSize(512).build());
    List<Event> events = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      events.add(Event.of("WORK", Map.of("i", i, "name", "NecroStack", "note", "x".repeat(40))));
    }
    long fill = System.nanoTime();
    backend.enqueueAll(events);
    System.out.printf("prefill: %,d events in %d ms%n", n,
        TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - fill));
    Spine spine = Spine.builder().organs(work, done).backend(backend).ownsBackend(true)
        .batchSize(512).build();
    com.sun.management.OperatingSystemMXBean os = (com.sun.management.OperatingSystemMXBean)
        java.lang.management.ManagementFactory.getOperatingSystemMXBean();
    long cpuStart = os.getProcessCpuTime();
    long start = System.nanoTime();
    spine.start();
    await().atMost(Duration.ofSeconds(280)).pollInterval(Duration.ofMillis(10))
        .until(() -> outputs.get() >= n);
    long nanos = System.nanoTime() - start;
    long cpu = os.getProcessCpuTime() - cpuStart;
    System.out.printf("JVM cpu during drain: %d ms (%.1f us per input)%n",
        TimeUnit.NANOSECONDS.toMillis(cpu), cpu / 1e3 / n);
    spine.close();
    System.out.printf("drain: %,d inputs (+%,d outputs handled) in %d ms = %,.0f inputs/s,"
            + " %,.0f events/s processed%n", n, n, TimeUnit.NANOSECONDS.toMillis(nanos),
        n / (nanos / 1e9), 2 * n / (nanos / 1e9));
    System.out.println(backend.metrics());
    try (TestRedis raw = new TestRedis(server.url())) {
      System.out.println(raw.sync().info("commandstats"));
    }
  }
}
