package io.necrostack.faults;

import io.necrostack.testing.RedisServer;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.necrostack.core.Event;
import io.necrostack.redis.RedisBackend;
import io.necrostack.redis.RedisBackendConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Scenario 9: load through Redis with three worker JVMs and trimming on. The stream stays
 * bounded, the workers' heaps stay bounded (peak recorded), and the totals add up: handled +
 * dead-lettered = produced, each input with exactly one output.
 *
 * <p>{@code ./mvnw verify} runs 60,000 events; the million-event soak runs only with {@code
 * -Dnecrostack.soak=true} (or {@code -Psoak}).
 */
class LoadTest {
  private static final Pattern PEAK = Pattern.compile("peak_heap_used_bytes=(\\d+)");
  @RegisterExtension final Resources toClose = new Resources();

  @Test
  @Timeout(value = 150, unit = TimeUnit.SECONDS)
  void sixtyThousandEventsThroughThreeWorkersWithTrimming(@TempDir Path dir) throws Exception {
    run(dir, 60_000, 10_000, Duration.ofSeconds(120));
  }

  @Test
  @EnabledIfSystemProperty(named = "necrostack.soak", matches = "true")
  @Timeout(value = 30, unit = TimeUnit.MINUTES)
  void soakAMillionEventsThroughThreeWorkersWithTrimming(@TempDir Path dir) throws Exception {
    run(dir, 1_000_000, 20_000, Duration.ofMinutes(25));
  }

  private void run(Path dir, int n, long maxLength, Duration budget) throws Exception {
    RedisServer server = RedisServer.ephemeral().start();
    toClose.add(server);
    String stream = TestRedis.uniqueStream("load");
    List<WorkerProcess> workers = new ArrayList<>();
    for (int w = 1; w <= 3; w++) {
      WorkerProcess p = WorkerProcess.launch(dir, server.url(), stream, "load" + w,
          "--max-length", Long.toString(maxLength), "--claim-idle-ms", "10000",
          "--claim-interval-ms", "1000");
      toClose.add(p);
      workers.add(p);
    }
    await().atMost(Duration.ofSeconds(60)).until(() -> workers.stream()
        .allMatch(WorkerProcess::isReady));
    TestRedis redis = new TestRedis(server.url());
    toClose.add(redis);
    long maxStreamLength = 0;
    long maxLag = 0;
    long start = System.nanoTime();
    long deadline = start + budget.toNanos();
    // Paced on the group's lag (entries not yet delivered): trimming keeps the newest
    // maxLength entries, so a producer that outran the consumers by more would have entries
    // trimmed before anyone read them. That is a capacity limit, not a fault to test here.
    long lagBound = maxLength / 4;
    try (RedisBackend producer = RedisBackend.create(RedisBackendConfig.builder()
        .url(server.url()).stream(stream).consumer("producer")
        .maxLength(maxLength).build())) {
      List<Event> chunk = new ArrayList<>(1000);
      long produced = 0;
      while (produced < n) {
        long lag = lag(redis, stream);
        maxLag = Math.max(maxLag, lag);
        maxStreamLength = Math.max(maxStreamLength, redis.sync().xlen(stream));
        if (lag > lagBound) {
          assertThat(System.nanoTime() - deadline).as("time budget").isNegative();
          // Back-pressure on the producer: wait for the consumers, polling the lag.
          await().atMost(budget).pollInterval(Duration.ofMillis(5))
              .until(() -> lag(redis, stream) <= lagBound);
          continue;
        }
        for (int k = 0; k < 1000 && produced < n; k++, produced++) {
          chunk.add(Event.of("WORK", Map.of("i", produced)));
        }
        producer.enqueueAll(chunk);
        chunk.clear();
      }
    }
    long[] lengths = {maxStreamLength};
    await().atMost(budget).pollInterval(Duration.ofMillis(500)).until(() -> {
      lengths[0] = Math.max(lengths[0], redis.sync().xlen(stream));
      HandlingLog log = HandlingLog.read(dir);
      return log.distinctHandled(n) + deadLetters(redis, stream) >= n
          && log.inputsWithOutput() + deadLetters(redis, stream) >= n;
    });
    double seconds = (System.nanoTime() - start) / 1e9;
    maxStreamLength = lengths[0];
    List<String> stats = new ArrayList<>();
    for (WorkerProcess w : workers) {
      stats.add(w.stop());
    }
    HandlingLog log = HandlingLog.read(dir);
    long dead = deadLetters(redis, stream);
    long pending = redis.sync().xpending(stream, "necrostack").getCount();
    long peakHeap = 0;
    for (String s : stats) {
      assertThat(s).as("worker stats line").isNotNull();
      Matcher m = PEAK.matcher(s);
      assertThat(m.find()).isTrue();
      peakHeap = Math.max(peakHeap, Long.parseLong(m.group(1)));
    }
    System.out.printf("LOAD produced=%d handled_distinct=%d duplicate_handlings=%d"
            + " dead_lettered=%d outputs=%d duplicate_outputs=%d lost=%d max_stream_length=%d"
            + " (maxLength ~%d) max_lag=%d peak_heap_used_mb=%.1f (of -Xmx256m)"
            + " seconds=%.1f rate=%.0f inputs/s%n",
        n, log.distinctHandled(n), log.duplicateHandlings(), dead, log.inputsWithOutput(),
        log.inputsWithDuplicateOutputs(), n - log.distinctHandled(n) - dead, maxStreamLength,
        maxLength, maxLag, peakHeap / 1048576.0, seconds, n / seconds);
    stats.forEach(s -> System.out.println("  " + s));
    assertThat(log.distinctHandled(n) + dead).as("handled + dead-lettered = produced")
        .isEqualTo(n);
    assertThat(dead).isZero();
    assertThat(log.inputsWithOutput()).as("each input's output handled").isEqualTo(n);
    assertThat(log.inputsWithDuplicateOutputs()).as("outputs written twice").isZero();
    assertThat(pending).isZero();
    // Approximate trimming removes whole nodes (100 entries by default), so a little over.
    assertThat(maxStreamLength).as("stream length bounded").isLessThan(maxLength + 1000);
    assertThat(peakHeap).as("peak heap well under the 256 MB cap").isLessThan(200L << 20);
  }

  private static long deadLetters(TestRedis redis, String stream) {
    return redis.sync().xlen(stream + ":dlq");
  }

  /** The group's lag: entries added to the stream and not yet delivered to the group. */
  private static long lag(TestRedis redis, String stream) {
    for (Object g : redis.sync().xinfoGroups(stream)) {
      List<?> info = (List<?>) g;
      for (int i = 0; i + 1 < info.size(); i += 2) {
        if ("lag".equals(String.valueOf(info.get(i)))) {
          Object v = info.get(i + 1);
          return v instanceof Number num ? num.longValue() : 0; // nil: unknown, after trims
        }
      }
    }
    return 0;
  }
}
