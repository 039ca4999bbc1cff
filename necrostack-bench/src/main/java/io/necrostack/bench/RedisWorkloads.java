package io.necrostack.bench;

import io.lettuce.core.Consumer;
import io.lettuce.core.LettuceFutures;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.StreamMessage;
import io.lettuce.core.XGroupCreateArgs;
import io.lettuce.core.XReadArgs;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.lettuce.core.api.sync.RedisCommands;
import io.necrostack.core.Emission;
import io.necrostack.core.Event;
import io.necrostack.core.Organ;
import io.necrostack.core.Spine;
import io.necrostack.redis.RedisBackend;
import io.necrostack.redis.RedisBackendConfig;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Workloads 4 and 5 on a private Redis: a drain of a pre-filled stream and a one-at-a-time
 * chain, each against raw Lettuce doing the same stream commands without the framework.
 *
 * <p>The Redis backend reads and writes one stream, so the drain's emitted events go back
 * into the stream they came from and are read, handled (counted) and acknowledged too: per
 * input, one XREADGROUP share, one parse, one XADD, two acknowledgements. The raw baseline
 * does exactly that work on the same stream, so the two stay comparable.
 */
public final class RedisWorkloads {
  static final String WORK = "WORK";
  static final String DONE = "DONE";
  private static final AtomicInteger STREAMS = new AtomicInteger();
  private static final int BATCH = 512;

  private RedisWorkloads() {}

  /** A stream name not used before in this process. */
  static String freshStream(String what) {
    return "bench:" + what + ":" + ProcessHandle.current().pid() + ":"
        + STREAMS.incrementAndGet();
  }

  /** An input event of the drain: about 200 bytes of JSON, like a small business event. */
  static Event input(int i) {
    return Event.of(WORK, Map.of("i", i, "name", "NecroStack", "note", "x".repeat(40)));
  }

  /** Writes {@code n} inputs in chunks (a million events at once would not fit 256 MB). */
  static void prefill(String url, String stream, int n) {
    try (RedisBackend backend = RedisBackend.create(config(url, stream))) {
      List<Event> chunk = new ArrayList<>(10_000);
      for (int i = 0; i < n; i++) {
        chunk.add(input(i));
        if (chunk.size() == 10_000 || i == n - 1) {
          backend.enqueueAll(chunk);
          chunk.clear();
        }
      }
    }
  }

  static RedisBackendConfig config(String url, String stream) {
    return RedisBackendConfig.builder().url(url).stream(stream).consumer("bench")
        .batchSize(BATCH).build();
  }

  /** Deletes a stream, so a million-event run does not keep Redis's memory. */
  static void delete(String url, String stream) {
    RedisClient client = RedisClient.create(url);
    try (StatefulRedisConnection<String, String> c = client.connect()) {
      c.sync().del(stream);
    } finally {
      client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
  }

  /**
   * Workload 4 through the framework: a Spine (concurrency 1, batch 512, default handler
   * policy) on the Redis backend drains {@code n} pre-filled inputs; each emits one event,
   * which a second organ counts. Timed from start until the n-th output is handled.
   */
  public static Trial drain(String url, int n) {
    return () -> {
      String stream = freshStream("drain");
      prefill(url, stream, n);
      try {
        return drainPrefilled(url, stream, n);
      } finally {
        delete(url, stream);
      }
    };
  }

  /** Drains a stream already holding {@code n} inputs; see {@link #drain}. */
  static Trial.Sample drainPrefilled(String url, String stream, int n) throws Exception {
    AtomicLong outputs = new AtomicLong();
    CountDownLatch done = new CountDownLatch(1);
    Organ work = Organ.builder("work").listensTo(WORK)
        .handle(e -> Event.of(DONE, Map.of("i", e.payload().get("i"))));
    Organ count = Organ.builder("count").listensTo(DONE).handle(e -> {
      if (outputs.incrementAndGet() == n) {
        done.countDown();
      }
      return Emission.none();
    });
    RedisBackend backend = RedisBackend.create(config(url, stream));
    Spine spine = Spine.builder().organs(work, count).backend(backend).ownsBackend(true)
        .batchSize(BATCH).build();
    long t0 = System.nanoTime();
    spine.start();
    if (!done.await(10, TimeUnit.MINUTES)) {
      spine.close();
      throw new IllegalStateException("drain did not finish: " + outputs.get() + " of " + n);
    }
    long nanos = System.nanoTime() - t0;
    spine.close();
    return new Trial.Sample(n, nanos);
  }

  /**
   * Workload 4's baseline: one thread with Lettuce, no framework. Per batch: XREADGROUP 512,
   * parse each entry with {@link Event#fromJson(String)}, for an input XADD its output (the
   * same event creation), then one XACK for the batch; the writes of a batch are pipelined.
   */
  public static Trial drainBaseline(String url, int n) {
    return () -> {
      String stream = freshStream("raw-drain");
      prefill(url, stream, n);
      RedisClient client = RedisClient.create(url);
      try (StatefulRedisConnection<String, String> conn = client.connect()) {
        RedisCommands<String, String> sync = conn.sync();
        RedisAsyncCommands<String, String> async = conn.async();
        sync.xgroupCreate(XReadArgs.StreamOffset.from(stream, "0"), "raw",
            XGroupCreateArgs.Builder.mkstream());
        Consumer<String> me = Consumer.from("raw", "bench");
        XReadArgs read = XReadArgs.Builder.count(BATCH).block(100);
        long outputs = 0;
        long t0 = System.nanoTime();
        while (outputs < n) {
          List<StreamMessage<String, String>> batch =
              sync.xreadgroup(me, read, XReadArgs.StreamOffset.lastConsumed(stream));
          if (batch.isEmpty()) {
            continue;
          }
          List<RedisFuture<?>> pending = new ArrayList<>(batch.size() + 1);
          String[] ids = new String[batch.size()];
          conn.setAutoFlushCommands(false);
          for (int i = 0; i < batch.size(); i++) {
            StreamMessage<String, String> m = batch.get(i);
            ids[i] = m.getId();
            Event e = Event.fromJson(m.getBody().get("event"));
            if (WORK.equals(e.eventType())) {
              Event out = Event.of(DONE, Map.of("i", e.payload().get("i")));
              pending.add(async.xadd(stream, Map.of("event", out.toJson())));
            } else {
              outputs++;
            }
          }
          pending.add(async.xack(stream, "raw", ids));
          conn.flushCommands();
          conn.setAutoFlushCommands(true);
          if (!LettuceFutures.awaitAll(Duration.ofSeconds(30),
              pending.toArray(new RedisFuture<?>[0]))) {
            throw new IllegalStateException("raw drain: writes did not complete in 30 s");
          }
        }
        long nanos = System.nanoTime() - t0;
        return new Trial.Sample(n, nanos);
      } finally {
        client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
        delete(url, stream);
      }
    };
  }

  /**
   * Redis's own ceiling: {@code redis-benchmark} XADD of a ~200-byte event, 50 clients,
   * 64-deep pipelining, on the same private server.
   */
  public static Trial xaddCeiling(int port, int requests) {
    return () -> {
      String stream = freshStream("ceiling");
      String json = input(0).toJson();
      Process p = new ProcessBuilder("redis-benchmark", "-h", "127.0.0.1", "-p",
          Integer.toString(port), "-n", Integer.toString(requests), "-c", "50", "-P", "64",
          "-q", "xadd", stream, "*", "event", json)
          .redirectErrorStream(true).start();
      String out;
      try (BufferedReader r = new BufferedReader(
          new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
        out = String.join("\n", r.lines().toList());
      }
      if (!p.waitFor(5, TimeUnit.MINUTES) || p.exitValue() != 0) {
        throw new IllegalStateException("redis-benchmark failed: " + out);
      }
      delete("redis://127.0.0.1:" + port, stream);
      return new Trial.Sample(requests, (long) (requests * 1e9 / parseRate(out)));
    };
  }

  /** The requests per second in redis-benchmark's quiet output. */
  static double parseRate(String output) {
    // The last "N requests per second": with -q, progress lines are overwritten by \r.
    String[] parts = output.replace('\r', '\n').split("\n");
    for (int i = parts.length - 1; i >= 0; i--) {
      int at = parts[i].indexOf(" requests per second");
      if (at > 0) {
        String head = parts[i].substring(0, at);
        return Double.parseDouble(head.substring(head.lastIndexOf(' ') + 1));
      }
    }
    throw new IllegalStateException("no rate in redis-benchmark output: " + output);
  }

  /**
   * Workload 5 through the framework: one event at a time, each handling emitting the next,
   * on the Redis backend. The hand-off latency of hop k is the time from the creation of its
   * event (in the previous handler) to the start of its handler, both in this JVM.
   *
   * @return the latencies in nanoseconds, one per hop after the first
   */
  public static long[] chainLatencies(String url, int hops) throws Exception {
    String stream = freshStream("chain");
    long[] latencies = new long[hops - 1];
    CountDownLatch done = new CountDownLatch(1);
    Organ hop = Organ.builder("hop").listensTo("HOP").handle(e -> {
      long now = System.nanoTime();
      int k = ((Number) e.payload().get("k")).intValue();
      if (k > 0) {
        latencies[k - 1] = now - ((Number) e.payload().get("t")).longValue();
      }
      if (k + 1 == hops) {
        done.countDown();
        return Emission.none();
      }
      return Event.of("HOP", Map.of("k", k + 1, "t", System.nanoTime()));
    });
    RedisBackend backend = RedisBackend.create(config(url, stream));
    Spine spine = Spine.builder().organs(hop).backend(backend).ownsBackend(true)
        .maxDepth(hops + 1) // past the default 1,000 the chain would be dead-lettered
        .build();
    try {
      spine.start(Event.of("HOP", Map.of("k", 0, "t", System.nanoTime())));
      if (!done.await(2, TimeUnit.MINUTES)) {
        throw new IllegalStateException("redis chain did not finish: " + spine.stats());
      }
    } finally {
      spine.close();
      delete(url, stream);
    }
    return latencies;
  }

  /**
   * Workload 5's baseline with raw Lettuce: acknowledge the entry (not awaited), XADD the
   * next, XREADGROUP BLOCK it back, parse it; the latency is from before the XADD to after
   * the parse.
   */
  public static long[] chainLatenciesBaseline(String url, int hops) {
    String stream = freshStream("raw-chain");
    long[] latencies = new long[hops - 1];
    RedisClient client = RedisClient.create(url);
    try (StatefulRedisConnection<String, String> conn = client.connect()) {
      RedisCommands<String, String> sync = conn.sync();
      RedisAsyncCommands<String, String> async = conn.async();
      sync.xgroupCreate(XReadArgs.StreamOffset.from(stream, "$"), "raw",
          XGroupCreateArgs.Builder.mkstream());
      Consumer<String> me = Consumer.from("raw", "bench");
      XReadArgs read = XReadArgs.Builder.count(1).block(1000);
      String previous = null;
      for (int k = 0; k < hops; k++) {
        long t = System.nanoTime();
        if (previous != null) {
          async.xack(stream, "raw", previous);
        }
        sync.xadd(stream, Map.of("event", Event.of("HOP", Map.of("k", k, "t", t)).toJson()));
        List<StreamMessage<String, String>> got =
            sync.xreadgroup(me, read, XReadArgs.StreamOffset.lastConsumed(stream));
        Event e = Event.fromJson(got.get(0).getBody().get("event"));
        long now = System.nanoTime();
        if (k > 0) {
          latencies[k - 1] = now - ((Number) e.payload().get("t")).longValue();
        }
        previous = got.get(0).getId();
      }
    } finally {
      client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
      delete(url, stream);
    }
    return latencies;
  }

  /** The p-th percentile (0-100) of the values, nearest rank; sorts a copy. */
  static double percentile(long[] values, double p) {
    long[] sorted = values.clone();
    Arrays.sort(sorted);
    // The epsilon keeps 99.9% of 1,000 at rank 999: 99.9 / 100 * 1000 is 999.0000000000001.
    int rank = (int) Math.ceil(p * sorted.length / 100 - 1e-9);
    return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
  }
}
