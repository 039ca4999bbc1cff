package io.necrostack.bench;

import io.necrostack.bench.jmh.EventBenchmarks;
import java.util.HashMap;
import java.util.Map;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.util.Statistics;

/**
 * Workload 3 through JMH's runner, folded into the harness's table: each event operation next
 * to its Jackson plain-map baseline, in ns/op (lower is better).
 */
final class JmhWorkloads {
  private JmhWorkloads() {}

  /** Runs {@link EventBenchmarks} in a forked JVM and adds its three pairs to the report. */
  static void run(Report report) throws RunnerException {
    Map<String, Summary> byName = new HashMap<>();
    for (RunResult result : new Runner(new OptionsBuilder()
        .include(EventBenchmarks.class.getName() + "\\.")
        .build()).run()) {
      String label = result.getParams().getBenchmark();
      String method = label.substring(label.lastIndexOf('.') + 1);
      Statistics s = result.getPrimaryResult().getStatistics();
      byName.put(method, new Summary(s.getPercentile(50), s.getMin(), s.getMax(), (int) s.getN()));
    }
    report.add(pair(byName, "event create + validate", "eventCreate",
        "plain LinkedHashMap deep copy", "plainMapCopy"));
    report.add(pair(byName, "event toJson", "eventToJson",
        "Jackson write plain map", "jacksonWriteMap"));
    report.add(pair(byName, "event fromJson (parse + validate)", "eventFromJson",
        "Jackson read plain map", "jacksonReadMap"));
  }

  private static Row pair(Map<String, Summary> byName, String workload, String method,
      String baseline, String baselineMethod) {
    Summary fw = byName.get(method);
    Summary base = byName.get(baselineMethod);
    if (fw == null || base == null) {
      throw new IllegalStateException("JMH produced no result for " + method + " or "
          + baselineMethod + "; got " + byName.keySet());
    }
    return new Row(workload, "ns/op", false, fw, baseline, base);
  }
}
