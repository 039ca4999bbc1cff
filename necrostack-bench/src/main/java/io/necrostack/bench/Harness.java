package io.necrostack.bench;

import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Runs a framework trial and its baseline alternately, after warm-up, and summarizes both.
 *
 * <p>Alternating (framework, baseline, framework, ...) rather than running all of one then all
 * of the other exposes both to the same background load, so their ratio stays meaningful on a
 * shared machine even when the absolute numbers wander.
 */
public final class Harness {
  private final int warmups;
  private final int repetitions;
  private final PrintStream log;

  /**
   * A harness.
   *
   * @param warmups untimed runs of each trial first, for the JIT
   * @param repetitions timed runs of each trial
   * @param log where progress goes (one line per run)
   */
  public Harness(int warmups, int repetitions, PrintStream log) {
    if (warmups < 0 || repetitions < 1) {
      throw new IllegalArgumentException(
          "need warmups >= 0 and repetitions >= 1, got " + warmups + ", " + repetitions);
    }
    this.warmups = warmups;
    this.repetitions = repetitions;
    this.log = log;
  }

  /**
   * Measures events/s of the framework trial against the baseline trial (null for none): one
   * row of wall-clock rates and, when every sample has a thread CPU time, one row per CPU
   * second.
   */
  public List<Row> throughput(String workload, Trial framework, String baselineName, Trial baseline)
      throws Exception {
    for (int i = 0; i < warmups; i++) {
      progress(workload, "warm-up", framework.run());
      if (baseline != null) {
        progress(baselineName, "warm-up", baseline.run());
      }
    }
    double[] fw = new double[repetitions];
    double[] base = new double[repetitions];
    double[] fwCpu = new double[repetitions];
    double[] baseCpu = new double[repetitions];
    boolean cpu = true;
    for (int i = 0; i < repetitions; i++) {
      Trial.Sample s = framework.run();
      progress(workload, "run " + (i + 1), s);
      fw[i] = s.perSecond();
      fwCpu[i] = s.perCpuSecond();
      cpu &= !Double.isNaN(fwCpu[i]);
      if (baseline != null) {
        Trial.Sample b = baseline.run();
        progress(baselineName, "run " + (i + 1), b);
        base[i] = b.perSecond();
        baseCpu[i] = b.perCpuSecond();
        cpu &= !Double.isNaN(baseCpu[i]);
      }
    }
    List<Row> rows = new ArrayList<>();
    rows.add(baseline == null
        ? Row.alone(workload, "events/s", true, Summary.of(fw))
        : new Row(workload, "events/s", true, Summary.of(fw), baselineName, Summary.of(base)));
    if (cpu) {
      // Per second of the handling thread's CPU: what the code costs, minus the time the
      // thread sat descheduled on a loaded machine (GC threads' work is not included).
      rows.add(baseline == null
          ? Row.alone(workload + " [cpu]", "events/cpu-s", true, Summary.of(fwCpu))
          : new Row(workload + " [cpu]", "events/cpu-s", true, Summary.of(fwCpu),
              baselineName + " [cpu]", Summary.of(baseCpu)));
    }
    return rows;
  }

  /** Wall-clock and CPU time of running the action on the calling thread. */
  public static Trial.Sample time(long events, ThrowingRunnable action) throws Exception {
    long cpu0 = THREADS.getCurrentThreadCpuTime();
    long t0 = System.nanoTime();
    action.run();
    long nanos = System.nanoTime() - t0;
    long cpu = THREADS.getCurrentThreadCpuTime() - cpu0;
    return new Trial.Sample(events, nanos, cpu0 < 0 ? -1 : cpu);
  }

  /** An action that may throw. */
  @FunctionalInterface
  public interface ThrowingRunnable {
    /** Runs it. */
    void run() throws Exception;
  }

  private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

  private void progress(String what, String phase, Trial.Sample s) {
    log.printf(Locale.ROOT,
        "  %-44s %-8s %,12d events in %8.1f ms = %,14.0f events/s (%,.0f per cpu-s)%n",
        what, phase, s.events(), s.nanos() / 1e6, s.perSecond(), s.perCpuSecond());
  }
}
