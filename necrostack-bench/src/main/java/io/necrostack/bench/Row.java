package io.necrostack.bench;

/**
 * One line of the results table: a figure of the framework and, when there is one, the same
 * figure of its raw baseline measured in the same run.
 *
 * @param workload what was measured, e.g. "in-memory chain, timeout off"
 * @param unit the unit of the figures, e.g. "events/s" or "ns/op"
 * @param higherIsBetter true for throughput, false for times and latencies
 * @param framework the framework's figure over the repetitions
 * @param baseline the name of the baseline, or null when the figure has none
 * @param baselineSummary the baseline's figure over the same repetitions, or null
 */
public record Row(
    String workload,
    String unit,
    boolean higherIsBetter,
    Summary framework,
    String baseline,
    Summary baselineSummary) {

  /** A row without a baseline. */
  public static Row alone(String workload, String unit, boolean higherIsBetter, Summary s) {
    return new Row(workload, unit, higherIsBetter, s, null, null);
  }

  /**
   * The framework's median divided by the baseline's, or NaN without a baseline. For
   * throughput 0.5 means half the baseline's rate; for times 2.0 means twice as long.
   */
  public double ratio() {
    if (baselineSummary == null || baselineSummary.median() == 0) {
      return Double.NaN;
    }
    return framework.median() / baselineSummary.median();
  }

  /**
   * How many times slower than the baseline the framework is (1.0 = as fast), whichever way
   * the unit points; NaN without a baseline. The targets are stated this way ("no slower than
   * 2x the raw baseline").
   */
  public double slowdown() {
    double r = ratio();
    if (Double.isNaN(r) || r == 0) {
      return Double.NaN;
    }
    return higherIsBetter ? 1 / r : r;
  }
}
