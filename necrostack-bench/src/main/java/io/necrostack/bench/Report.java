package io.necrostack.bench;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import tools.jackson.databind.SerializationFeature;
import tools.jackson.databind.json.JsonMapper;

/**
 * The results table: printed as aligned text for people and written as JSON for comparing
 * one version of the framework with another.
 */
public final class Report {
  private final Map<String, Object> environment;
  private final List<Row> rows = new ArrayList<>();

  /** A report about a run on the given machine (name to value, printed in order). */
  public Report(Map<String, Object> environment) {
    this.environment = new LinkedHashMap<>(environment);
  }

  /** Records one more fact about the run, such as the load average when it ended. */
  public void environmentAtEnd(String name, Object value) {
    environment.put(name, value);
  }

  /** Adds rows. */
  public void addAll(List<Row> more) {
    rows.addAll(more);
  }

  /** Adds a row. */
  public void add(Row row) {
    rows.add(row);
  }

  /** The rows, in the order added. */
  public List<Row> rows() {
    return List.copyOf(rows);
  }

  /** The table as aligned text, one row per figure and its baseline. */
  public String toText() {
    StringBuilder sb = new StringBuilder();
    environment.forEach((k, v) -> sb.append("# ").append(k).append(": ").append(v).append('\n'));
    String header = String.format(Locale.ROOT, "%-44s %-9s %14s %14s %14s | %-30s %14s %8s %9s",
        "workload", "unit", "median", "min", "max", "baseline", "base median", "ratio",
        "slowdown");
    sb.append(header).append('\n').append("-".repeat(header.length())).append('\n');
    for (Row r : rows) {
      sb.append(String.format(Locale.ROOT, "%-44s %-9s %14s %14s %14s | %-30s %14s %8s %9s%n",
          r.workload(), r.unit(), num(r.framework().median()), num(r.framework().min()),
          num(r.framework().max()), r.baseline() == null ? "-" : r.baseline(),
          r.baselineSummary() == null ? "-" : num(r.baselineSummary().median()),
          Double.isNaN(r.ratio()) ? "-" : String.format(Locale.ROOT, "%.3f", r.ratio()),
          Double.isNaN(r.slowdown()) ? "-" : String.format(Locale.ROOT, "%.2fx", r.slowdown())));
    }
    return sb.toString();
  }

  /** The table as JSON: the environment and one object per row with its ratio. */
  public String toJson() {
    List<Map<String, Object>> list = new ArrayList<>();
    for (Row r : rows) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("workload", r.workload());
      m.put("unit", r.unit());
      m.put("higher_is_better", r.higherIsBetter());
      m.put("median", r.framework().median());
      m.put("min", r.framework().min());
      m.put("max", r.framework().max());
      m.put("repetitions", r.framework().count());
      if (r.baseline() != null) {
        m.put("baseline", r.baseline());
        m.put("baseline_median", r.baselineSummary().median());
        m.put("baseline_min", r.baselineSummary().min());
        m.put("baseline_max", r.baselineSummary().max());
        m.put("ratio", r.ratio());
        m.put("slowdown", r.slowdown());
      }
      list.add(m);
    }
    Map<String, Object> root = new LinkedHashMap<>();
    root.put("environment", environment);
    root.put("results", list);
    return JsonMapper.builder().enable(SerializationFeature.INDENT_OUTPUT).build()
        .writeValueAsString(root);
  }

  /** Numbers with a precision that suits their size, without scientific notation. */
  static String num(double v) {
    if (Double.isNaN(v)) {
      return "-";
    }
    double a = Math.abs(v);
    if (a >= 1000) {
      return String.format(Locale.ROOT, "%,.0f", v);
    }
    if (a >= 10) {
      return String.format(Locale.ROOT, "%.1f", v);
    }
    return String.format(Locale.ROOT, "%.3f", v);
  }
}
