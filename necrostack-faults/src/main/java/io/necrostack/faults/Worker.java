package io.necrostack.faults;

import io.necrostack.core.Event;
import io.necrostack.core.Organ;
import io.necrostack.core.Spine;
import io.necrostack.core.SpineHealth;
import io.necrostack.core.SpineStats;
import io.necrostack.redis.RedisBackend;
import io.necrostack.redis.RedisBackendConfig;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * A worker process for the fault suite: one Spine on a {@link RedisBackend}, launched by the
 * tests as a separate JVM so that it can be killed with SIGKILL like a crashing service.
 *
 * <p>Organs: {@code WORK} (payload {@code i}) records its handling and emits one {@code DONE}
 * with the same {@code i}; {@code DONE} records the output's event id. Records are lines
 * {@code H <i> <event id>} and {@code D <i> <event id>} appended to the {@code --log} file,
 * each with one unbuffered {@code write}: the kernel keeps it even if the JVM is killed right
 * after, so the test counts every handling, duplicates included, without depending on Redis
 * (which the tests also kill). Distinct {@code DONE} ids per {@code i} are the outputs
 * written: exactly one each when emit and ack are atomic.
 *
 * <p>Options ({@code --name value}): {@code --redis} URL (required), {@code --stream}, {@code
 * --group}, {@code --consumer}, {@code --log} (required), {@code --claim-idle-ms}, {@code
 * --claim-interval-ms}, {@code --max-deliveries}, {@code --max-length}, {@code --batch-size},
 * {@code --concurrency}, {@code --work-ms} (simulated work per WORK event), {@code --halt-on}
 * (halt the JVM when handling WORK with that {@code i}: a poison that crashes its consumer),
 * {@code --startup-timeout-ms} (how long to wait for Redis at start), {@code
 * --max-pull-failures} (default: none, the Spine's default on Redis: an outage is ridden out),
 * {@code --report-health true} (print {@code WORKER_HEALTH ready=...} each time the Spine's
 * readiness changes, sampled every 100 ms).
 *
 * <p>Prints {@code WORKER_READY} once running and, on SIGTERM, stops gracefully and prints
 * {@code WORKER_STATS ...} with its counters and peak heap. Exit codes: 143 after SIGTERM (the JVM's status for it), 2 if
 * the Spine stopped on its own (an error), 3 if Redis stayed unreachable at start.
 */
public final class Worker {
  private final Map<String, String> options;
  private final FileOutputStream log;
  private final long haltOn;
  private final long workNanos;
  private final AtomicLong peakHeapUsed = new AtomicLong();

  private Worker(Map<String, String> options) throws IOException {
    this.options = options;
    this.log = new FileOutputStream(required("log"), true);
    this.haltOn = Long.parseLong(options.getOrDefault("halt-on", "-1"));
    this.workNanos = TimeUnit.MILLISECONDS.toNanos(Long.parseLong(
        options.getOrDefault("work-ms", "0")));
  }

  /**
   * Runs a worker until SIGTERM.
   *
   * @param args {@code --name value} pairs; see the class documentation
   */
  public static void main(String[] args) throws Exception {
    Map<String, String> options = parse(args);
    Worker worker = new Worker(options);
    System.exit(worker.run());
  }

  static Map<String, String> parse(String[] args) {
    Map<String, String> options = new HashMap<>();
    for (int i = 0; i < args.length; i++) {
      if (!args[i].startsWith("--") || i + 1 >= args.length) {
        throw new IllegalArgumentException("expected --name value pairs, got " + args[i]);
      }
      options.put(args[i].substring(2), args[++i]);
    }
    return options;
  }

  private String required(String name) {
    String value = options.get(name);
    if (value == null) {
      throw new IllegalArgumentException("--" + name + " is required");
    }
    return value;
  }

  private long number(String name, long fallback) {
    String value = options.get(name);
    return value == null ? fallback : Long.parseLong(value);
  }

  private int run() {
    RedisBackendConfig.Builder config = RedisBackendConfig.builder()
        .url(required("redis"))
        .stream(options.getOrDefault("stream", RedisBackendConfig.DEFAULT_STREAM))
        .group(options.getOrDefault("group", RedisBackendConfig.DEFAULT_GROUP))
        .blockTime(Duration.ofMillis(number("block-ms", 100)))
        .commandTimeout(Duration.ofSeconds(5))
        .retryTime(Duration.ofSeconds(number("retry-s", 30)))
        .claimIdleTime(Duration.ofMillis(number("claim-idle-ms", 30_000)))
        .claimInterval(Duration.ofMillis(number("claim-interval-ms", 5_000)))
        .maxDeliveries((int) number("max-deliveries", RedisBackendConfig.DEFAULT_MAX_DELIVERIES))
        .maxLength(number("max-length", RedisBackendConfig.NO_TRIMMING))
        .batchSize((int) number("backend-batch-size", RedisBackendConfig.DEFAULT_BATCH_SIZE));
    if (options.containsKey("consumer")) {
      config.consumer(options.get("consumer"));
    }
    RedisBackend backend;
    try {
      backend = RedisBackend.connect(config.build(),
          Duration.ofMillis(number("startup-timeout-ms", 30_000)));
    } catch (RuntimeException e) {
      System.err.println("WORKER_GAVE_UP " + e.getMessage());
      return 3;
    }
    Organ work = Organ.builder("work").listensTo("WORK").emits("DONE").handle(this::work);
    Organ done = Organ.builder("done").listensTo("DONE").handle(e -> {
      record("D", e);
      return null;
    });
    Spine.Builder builder = Spine.builder()
        .organs(work, done)
        .backend(backend)
        .ownsBackend(true)
        .concurrency((int) number("concurrency", 1))
        .batchSize((int) number("batch-size", Spine.DEFAULT_BATCH_SIZE))
        .drainTimeout(Duration.ofSeconds(10));
    if (options.containsKey("max-pull-failures")) {
      builder.maxPullFailures((int) number("max-pull-failures", 0));
    }
    Spine spine = builder.build();
    ScheduledExecutorService sampler = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "heap-sampler");
      t.setDaemon(true);
      return t;
    });
    MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
    // Sampled, not the pools' peaks: those sum peaks of different moments and overstate it.
    sampler.scheduleAtFixedRate(
        () -> peakHeapUsed.accumulateAndGet(memory.getHeapMemoryUsage().getUsed(), Math::max),
        0, 100, TimeUnit.MILLISECONDS);
    if (Boolean.parseBoolean(options.getOrDefault("report-health", "false"))) {
      sampler.scheduleAtFixedRate(() -> reportHealth(spine), 100, 100, TimeUnit.MILLISECONDS);
    }
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      spine.close(); // SIGTERM: finish in-flight events, flush settles, close Redis
      printStats(spine.stats(), backend);
    }, "worker-shutdown"));
    System.out.println("WORKER_READY consumer=" + backend.config().consumer());
    System.out.flush();
    try {
      spine.run();
      return 0; // stopped by the shutdown hook
    } catch (RuntimeException e) {
      System.err.println("WORKER_FAILED " + e);
      e.printStackTrace();
      return 2;
    }
  }

  private Boolean lastReady; // the sampler's own

  private void reportHealth(Spine spine) {
    SpineHealth health = spine.health();
    if (!health.running()) {
      return; // starting or stopping: readiness of a running Spine is what is watched
    }
    boolean ready = health.ready();
    if (lastReady == null || lastReady != ready) {
      lastReady = ready;
      System.out.println("WORKER_HEALTH ready=" + ready + " failing_pulls="
          + health.failingPulls() + " at_ms=" + System.currentTimeMillis());
      System.out.flush();
    }
  }

  private Event work(Event e) {
    long i = ((Number) e.payload().get("i")).longValue();
    if (i == haltOn) {
      // A poison that takes its consumer down (think OOM, a native crash): no finally runs.
      Runtime.getRuntime().halt(42);
    }
    if (workNanos > 0) {
      LockSupport.parkNanos(workNanos); // simulated work, not synchronisation
    }
    record("H", e);
    return Event.of("DONE", Map.of("i", i));
  }

  private void record(String kind, Event e) {
    Object i = e.payload().get("i");
    byte[] line = (kind + " " + i + " " + e.id() + "\n").getBytes(StandardCharsets.US_ASCII);
    try {
      synchronized (log) {
        log.write(line); // one write(2) per line: whole lines survive SIGKILL
      }
    } catch (IOException ex) {
      throw new UncheckedIOException(ex);
    }
  }

  private void printStats(SpineStats stats, RedisBackend backend) {
    var m = backend.metrics();
    System.out.println("WORKER_STATS consumer=" + backend.config().consumer()
        + " processed=" + stats.processed()
        + " emitted=" + stats.emitted()
        + " handler_errors=" + stats.totalHandlerErrors()
        + " pull_errors=" + stats.backendErrors()
        + " refused_settles=" + m.refusedSettles()
        + " reclaimed=" + m.reclaimed()
        + " dead_lettered=" + m.deadLettered()
        + " fenced_commits=" + m.fencedCommits()
        + " reconnections=" + m.reconnections()
        + " peak_heap_used_bytes=" + peakHeapUsed.get()
        + " max_heap_bytes=" + Runtime.getRuntime().maxMemory());
    System.out.flush();
  }
}
