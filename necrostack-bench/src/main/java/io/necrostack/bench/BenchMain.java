package io.necrostack.bench;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The end-to-end benchmark harness: runs the chosen workloads, each against its raw baseline
 * in the same process, and prints the median, minimum and maximum over the repetitions with
 * the framework/baseline ratio.
 *
 * <pre>
 * java -jar necrostack-bench.jar [--workloads chain,fanout,json,redis,memory]
 *     [--events 1000000] [--fanout-runs 200] [--warmups 2] [--reps 5] [--json out.json]
 * java -jar necrostack-bench.jar jmh [JMH options]     (JMH's own command line)
 * </pre>
 */
public final class BenchMain {
  private BenchMain() {}

  /** Entry point; see the class documentation for the arguments. */
  public static void main(String[] args) throws Exception {
    if (args.length > 0 && args[0].equals("jmh")) {
      org.openjdk.jmh.Main.main(Arrays.copyOfRange(args, 1, args.length));
      return;
    }
    if (args.length == 4 && args[0].equals("redis-memory-child")) {
      MemoryRun.child(args[1], args[2], Integer.parseInt(args[3]));
      System.exit(0); // Lettuce's threads must not keep the child alive
      return;
    }
    Options o;
    try {
      o = Options.parse(args);
    } catch (IllegalArgumentException e) {
      System.err.println(e.getMessage());
      System.err.println(Options.USAGE);
      System.exit(2);
      return;
    }
    if (o.help) {
      System.out.println(Options.USAGE);
      return;
    }
    Report report = new Report(environment(o));
    Harness harness = new Harness(o.warmups, o.repetitions, System.out);
    for (String w : o.workloads) {
      System.out.println("== " + w);
      switch (w) {
        case "chain" -> {
          report.addAll(harness.throughput("in-memory chain, timeout off",
              InMemoryWorkloads.chain(o.events, Duration.ZERO),
              "ArrayDeque loop", InMemoryWorkloads.chainBaseline(o.events)));
          report.addAll(harness.throughput("in-memory chain, default 30 s timeout",
              InMemoryWorkloads.chain(o.events, io.necrostack.core.HandlerPolicy.DEFAULT_TIMEOUT),
              "ArrayDeque loop", InMemoryWorkloads.chainBaseline(o.events)));
        }
        case "fanout" -> {
          for (int c : new int[] {1, 8}) {
            report.addAll(harness.throughput(
                "in-memory fan-out 1x" + o.fanOutWidth + ", c=" + c + ", timeout off",
                InMemoryWorkloads.fanOut(o.fanOutWidth, o.fanOutRuns, c, Duration.ZERO),
                "ArrayDeque loop",
                InMemoryWorkloads.fanOutBaseline(o.fanOutWidth, o.fanOutRuns)));
          }
        }
        case "json" -> JmhWorkloads.run(report);
        case "redis" -> redis(o, report);
        case "memory" -> memory(o, report);
        default -> throw new IllegalArgumentException("unknown workload " + w);
      }
    }
    report.environmentAtEnd("load average at end", loadAverage());
    System.out.println();
    System.out.print(report.toText());
    if (o.jsonOut != null) {
      Files.writeString(o.jsonOut, report.toJson());
      System.out.println("wrote " + o.jsonOut);
    }
  }

  /** Workloads 4 and 5, and redis-benchmark's XADD ceiling, on a private redis-server. */
  private static void redis(Options o, Report report) throws Exception {
    try (RedisProcess redis = RedisProcess.start()) {
      System.out.println("  private redis-server on port " + redis.port());
      Harness h = new Harness(1, o.redisRepetitions, System.out);
      report.addAll(h.throughput("redis drain " + o.redisEvents / 1000 + "k (inputs/s)",
          RedisWorkloads.drain(redis.url(), o.redisEvents),
          "raw Lettuce loop", RedisWorkloads.drainBaseline(redis.url(), o.redisEvents)));
      report.addAll(new Harness(0, o.redisRepetitions, System.out).throughput(
          "redis-benchmark XADD -P 64 -c 50 (ceiling)",
          RedisWorkloads.xaddCeiling(redis.port(), 200_000), null, null));
      int reps = o.redisRepetitions;
      double[][] fw = new double[3][reps];
      double[][] base = new double[3][reps];
      double[] ps = {50, 99, 99.9};
      RedisWorkloads.chainLatencies(redis.url(), Math.min(o.redisHops, 500)); // warm-up
      RedisWorkloads.chainLatenciesBaseline(redis.url(), Math.min(o.redisHops, 500));
      for (int r = 0; r < reps; r++) {
        long[] f = RedisWorkloads.chainLatencies(redis.url(), o.redisHops);
        long[] b = RedisWorkloads.chainLatenciesBaseline(redis.url(), o.redisHops);
        for (int i = 0; i < ps.length; i++) {
          fw[i][r] = RedisWorkloads.percentile(f, ps[i]) / 1000.0;
          base[i][r] = RedisWorkloads.percentile(b, ps[i]) / 1000.0;
        }
        System.out.printf(Locale.ROOT, "  redis chain run %d: p50/p99/p999 %.0f/%.0f/%.0f us,"
            + " raw %.0f/%.0f/%.0f us%n", r + 1, fw[0][r], fw[1][r], fw[2][r], base[0][r],
            base[1][r], base[2][r]);
      }
      String[] names = {"p50", "p99", "p999"};
      for (int i = 0; i < ps.length; i++) {
        report.add(new Row("redis chain hand-off " + names[i], "us", false, Summary.of(fw[i]),
            "raw Lettuce XADD/XREADGROUP", Summary.of(base[i])));
      }
    }
  }

  /** Workload 6: the Redis drain of a million events in a child JVM under -Xmx256m. */
  private static void memory(Options o, Report report) throws Exception {
    try (RedisProcess redis = RedisProcess.start()) {
      MemoryRun.Result r = MemoryRun.run(redis, o.memoryEvents);
      System.out.printf(Locale.ROOT, "  %s drain of %,d events: %.1f s, peak heap %d MiB of %d%n",
          MemoryRun.XMX, r.events(), r.nanos() / 1e9, r.peakHeapBytes() >> 20,
          r.maxHeapBytes() >> 20);
      report.add(Row.alone("redis drain " + r.events() / 1000 + "k, " + MemoryRun.XMX
          + " (inputs/s)", "events/s", true, Summary.of(r.events() * 1e9 / r.nanos())));
      report.add(Row.alone("  same run: peak heap (max " + (r.maxHeapBytes() >> 20) + " MiB)",
          "MiB", false, Summary.of(r.peakHeapBytes() / 1048576.0)));
    }
  }

  private static Map<String, Object> environment(Options o) {
    Map<String, Object> env = new LinkedHashMap<>();
    env.put("date", Instant.now().toString());
    env.put("cpus", Runtime.getRuntime().availableProcessors());
    env.put("cpu model", cpuModel());
    env.put("jdk", System.getProperty("java.vm.name") + " " + System.getProperty("java.version"));
    env.put("jvm args", ManagementFactory.getRuntimeMXBean().getInputArguments());
    env.put("max heap MiB", Runtime.getRuntime().maxMemory() >> 20);
    env.put("load average at start", loadAverage());
    env.put("warm-ups, repetitions", o.warmups + ", " + o.repetitions);
    env.put("chain events", o.events);
    env.put("fan-out", o.fanOutRuns + " runs of 1 + " + o.fanOutWidth + " events");
    if (o.workloads.contains("redis") || o.workloads.contains("memory")) {
      env.put("redis", redisVersion());
      env.put("redis drain inputs, chain hops, repetitions",
          o.redisEvents + ", " + o.redisHops + ", " + o.redisRepetitions);
    }
    return env;
  }

  static String redisVersion() {
    try {
      Process p = new ProcessBuilder("redis-server", "--version").redirectErrorStream(true)
          .start();
      String v = new String(p.getInputStream().readAllBytes()).strip();
      p.waitFor();
      return v;
    } catch (IOException | InterruptedException e) {
      return "unknown";
    }
  }

  static String cpuModel() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
        if (line.startsWith("model name")) {
          return line.substring(line.indexOf(':') + 1).strip();
        }
      }
    } catch (IOException | RuntimeException e) {
      // not Linux: the model is a nicety, not a reason to fail
    }
    return "unknown";
  }

  static String loadAverage() {
    try {
      String[] parts = Files.readString(Path.of("/proc/loadavg")).split(" ");
      return parts[0] + " " + parts[1] + " " + parts[2];
    } catch (IOException | RuntimeException e) {
      return "unknown";
    }
  }

  /** The parsed command line. */
  static final class Options {
    static final String USAGE = """
        usage: java -jar necrostack-bench.jar [options]
               java -jar necrostack-bench.jar jmh [JMH options]
          --workloads LIST   comma-separated, of chain,fanout,json,redis,memory
                             (default: all of them)
          --events N         events in the in-memory chain (default 1000000)
          --fanout-width N   events emitted by the fan-out's start event (default 1000)
          --fanout-runs N    Spine runs per fan-out repetition (default 200)
          --warmups N        untimed runs of each trial first (default 2)
          --reps N           timed runs of each trial (default 5)
          --redis-events N   inputs per Redis drain repetition (default 200000)
          --redis-hops N     hops per Redis chain latency repetition (default 5000)
          --redis-reps N     repetitions of the Redis workloads (default 3)
          --memory-events N  inputs of the -Xmx256m drain (default 1000000)
          --json FILE        also write the table as JSON""";

    static final List<String> ALL = List.of("chain", "fanout", "json", "redis", "memory");
    Set<String> workloads = new LinkedHashSet<>(ALL);
    int redisEvents = 200_000;
    int redisHops = 5_000;
    int redisRepetitions = 3;
    int memoryEvents = 1_000_000;
    int events = 1_000_000;
    int fanOutWidth = 1000;
    int fanOutRuns = 200;
    int warmups = 2;
    int repetitions = 5;
    Path jsonOut;
    boolean help;

    static Options parse(String[] args) {
      Options o = new Options();
      for (int i = 0; i < args.length; i++) {
        String a = args[i];
        switch (a) {
          case "-h", "--help" -> o.help = true;
          case "--workloads" -> {
            o.workloads = new LinkedHashSet<>();
            for (String w : value(args, ++i, a).split(",")) {
              String name = w.strip();
              if (!ALL.contains(name)) {
                throw new IllegalArgumentException("unknown workload '" + name + "'");
              }
              o.workloads.add(name);
            }
          }
          case "--events" -> o.events = positive(args, ++i, a);
          case "--fanout-width" -> o.fanOutWidth = positive(args, ++i, a);
          case "--fanout-runs" -> o.fanOutRuns = positive(args, ++i, a);
          case "--warmups" -> {
            o.warmups = Integer.parseInt(value(args, ++i, a));
            if (o.warmups < 0) {
              throw new IllegalArgumentException("--warmups must be >= 0");
            }
          }
          case "--reps" -> o.repetitions = positive(args, ++i, a);
          case "--redis-events" -> o.redisEvents = positive(args, ++i, a);
          case "--redis-hops" -> o.redisHops = Math.max(2, positive(args, ++i, a));
          case "--redis-reps" -> o.redisRepetitions = positive(args, ++i, a);
          case "--memory-events" -> o.memoryEvents = positive(args, ++i, a);
          case "--json" -> o.jsonOut = Path.of(value(args, ++i, a));
          default -> throw new IllegalArgumentException("unknown argument '" + a + "'");
        }
      }
      return o;
    }

    private static String value(String[] args, int i, String name) {
      if (i >= args.length) {
        throw new IllegalArgumentException(name + " needs a value");
      }
      return args[i];
    }

    private static int positive(String[] args, int i, String name) {
      int v;
      try {
        v = Integer.parseInt(value(args, i, name));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(name + " needs a whole number, got " + args[i]);
      }
      if (v < 1) {
        throw new IllegalArgumentException(name + " must be at least 1, got " + v);
      }
      return v;
    }
  }
}
