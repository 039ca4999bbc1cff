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
   * @param nanos how long that took, in wall-clock nanoseconds
   * @param cpuNanos the CPU time the calling thread spent meanwhile, or -1 when the work ran
   *     on other threads too (then it would not mean much)
   */
  record Sample(long events, long nanos, long cpuNanos) {

    /** A sample without a CPU time. */
    public Sample(long events, long nanos) {
      this(events, nanos, -1);
    }

    /** Events per wall-clock second. */
    public double perSecond() {
      return events * 1e9 / nanos;
    }

    /** Events per second of the calling thread's CPU time, or NaN without one. */
    public double perCpuSecond() {
      return cpuNanos <= 0 ? Double.NaN : events * 1e9 / cpuNanos;
    }
  }
}
