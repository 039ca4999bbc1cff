package io.necrostack.bench;

import java.util.Arrays;

/**
 * The median, minimum and maximum of repeated measurements of one figure.
 *
 * <p>The median, not the mean: on a shared machine a run that lost its core to another
 * process is an outlier to be ignored, not averaged in.
 *
 * @param median the middle value (the mean of the two middle values for an even count)
 * @param min the smallest value
 * @param max the largest value
 * @param count how many measurements
 */
public record Summary(double median, double min, double max, int count) {

  /**
   * Summarizes the values.
   *
   * @throws IllegalArgumentException if there are none
   */
  public static Summary of(double... values) {
    if (values.length == 0) {
      throw new IllegalArgumentException("no values to summarize");
    }
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    int n = sorted.length;
    double median = n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    return new Summary(median, sorted[0], sorted[n - 1], n);
  }
}
