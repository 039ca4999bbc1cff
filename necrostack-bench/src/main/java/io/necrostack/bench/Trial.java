package io.necrostack.bench;

/**
 * One timed execution of a workload, run once per repetition.
 *
 * <p>Set-up that is not part of the figure (building a Spine, filling a stream) happens inside
 * {@link #run()} before the clock starts; the trial times itself and reports what it did.
 */
@FunctionalInterface
public interface Trial {

  /**
   * Runs the workload once.
   *
   * @return how many events were handled and how long it took
   * @throws Exception if the workload failed; the harness stops and reports it
   */
  Sample run() throws Exception;

  /**
   * What one execution did.
   *
   * @param events how many events were handled
   * @param nanos how long that took, in nanoseconds
   */
  record Sample(long events, long nanos) {

    /** Events per second. */
    public double perSecond() {
      return events * 1e9 / nanos;
    }
  }
}
