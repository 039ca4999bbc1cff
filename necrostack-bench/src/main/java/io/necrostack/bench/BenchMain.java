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
import java.util.Map;
import java.util.Set;

/**
 * The end-to-end benchmark harness: runs the chosen workloads, each against its raw baseline
 * in the same process, and prints the median, minimum and maximum over the repetitions with
 * the framework/baseline ratio.
 *
 * <pre>
 * java -jar necrostack-bench.jar [--workloads chain,fanout,json] [--events 1000000]
 *     [--fanout-runs 200] [--warmups 2] [--reps 5] [--json out.json]
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
    return env;
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
          --workloads LIST   comma-separated: chain,fanout,json (default chain,fanout,json)
          --events N         events in the in-memory chain (default 1000000)
          --fanout-width N   events emitted by the fan-out's start event (default 1000)
          --fanout-runs N    Spine runs per fan-out repetition (default 200)
          --warmups N        untimed runs of each trial first (default 2)
          --reps N           timed runs of each trial (default 5)
          --json FILE        also write the table as JSON""";

    Set<String> workloads = new LinkedHashSet<>(List.of("chain", "fanout", "json"));
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
              if (!Set.of("chain", "fanout", "json").contains(name)) {
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
