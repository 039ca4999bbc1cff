package io.necrostack.apps.cli;

import java.io.PrintStream;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import io.necrostack.apps.etl.EtlProgress;

/**
 * Shows rows read and rows per second on one rewritten stderr line, for a person watching a
 * long run. Short runs print nothing: the first update comes after {@link #DELAY_NANOS}.
 * Called on the Spine's thread only; not thread-safe.
 */
final class TerminalProgress implements EtlProgress {
  static final long DELAY_NANOS = TimeUnit.MILLISECONDS.toNanos(500);
  private static final long INTERVAL_NANOS = TimeUnit.MILLISECONDS.toNanos(250);

  private final PrintStream err;
  private final LongSupplier clock;
  private final long start;
  private long lastPrint;
  private long rows;
  private boolean shown;
  private boolean closed;

  TerminalProgress(PrintStream err) {
    this(err, System::nanoTime);
  }

  /** @param clock nanoseconds, as {@link System#nanoTime()}; tests pass their own */
  TerminalProgress(PrintStream err, LongSupplier clock) {
    this.err = err;
    this.clock = clock;
    this.start = clock.getAsLong();
    this.lastPrint = start + DELAY_NANOS - INTERVAL_NANOS;
  }

  @Override
  public void rowsRead(long rowsRead, boolean last) {
    rows = rowsRead;
    long now = clock.getAsLong();
    if (last) {
      finish();
    } else if (now - lastPrint >= INTERVAL_NANOS) {
      lastPrint = now;
      print(now);
    }
  }

  /**
   * Prints the final count and ends the line, if anything was shown; once. Called on the
   * last chunk, before the summary is printed, and again after the run in case it failed.
   */
  void finish() {
    if (shown && !closed) {
      closed = true;
      print(clock.getAsLong());
      err.print('\n');
      err.flush();
    }
  }

  private void print(long now) {
    double seconds = Math.max(1e-9, (now - start) / 1e9);
    err.print(String.format(Locale.ROOT, "\r  rows read: %,d  (%,.0f rows/s)   ", rows,
        rows / seconds));
    err.flush();
    shown = true;
  }
}
