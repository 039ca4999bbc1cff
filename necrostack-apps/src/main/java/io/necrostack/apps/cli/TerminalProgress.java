package io.necrostack.apps.cli;

import java.io.PrintStream;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.function.LongConsumer;

/**
 * Shows rows read and rows per second on one rewritten stderr line, for a person watching a
 * long run. Short runs print nothing: the first update comes after {@link #DELAY_NANOS}.
 * Called on the Spine's thread only; not thread-safe.
 */
final class TerminalProgress implements LongConsumer {
  static final long DELAY_NANOS = TimeUnit.MILLISECONDS.toNanos(500);
  private static final long INTERVAL_NANOS = TimeUnit.MILLISECONDS.toNanos(250);

  private final PrintStream err;
  private final long start = System.nanoTime();
  private long lastPrint = start + DELAY_NANOS - INTERVAL_NANOS;
  private long rows;
  private boolean shown;

  TerminalProgress(PrintStream err) {
    this.err = err;
  }

  @Override
  public void accept(long rowsRead) {
    rows = rowsRead;
    long now = System.nanoTime();
    if (now - lastPrint >= INTERVAL_NANOS) {
      lastPrint = now;
      print(now);
    }
  }

  /** Prints the final count and ends the line, if anything was shown. */
  void finish() {
    if (shown) {
      print(System.nanoTime());
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
