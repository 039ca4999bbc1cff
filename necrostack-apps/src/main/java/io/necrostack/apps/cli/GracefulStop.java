package io.necrostack.apps.cli;

import io.necrostack.apps.run.SpineHooks;
import io.necrostack.core.Spine;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Stops a run gracefully on Ctrl-C (SIGINT) or SIGTERM, instead of letting the JVM halt in the
 * middle of a handling.
 *
 * <p>Without it the JVM would exit as soon as its shutdown hooks return: an event being handled
 * would be cut off, and on Redis the settles the backend buffers (outputs plus the ack of their
 * input) would never be sent, so handled events would be delivered and handled again. The hook
 * stops the Spine, which finishes its in-flight events and gives back what it pulled but did not
 * handle, then waits until the command has closed the backend (flushing its settles), at most
 * {@link #WAIT}. The JVM then exits with the signal's status (130 after Ctrl-C).
 */
final class GracefulStop implements SpineHooks, AutoCloseable {
  /** The longest the hook waits for the run to end: the Spine's drain bound and some margin. */
  static final Duration WAIT = Spine.DEFAULT_DRAIN_TIMEOUT.plusSeconds(10);

  /** The exit code of a run stopped by a signal: 128 + SIGINT, as shells report Ctrl-C. */
  static final int EXIT_INTERRUPTED = 130;

  private final Thread hook = new Thread(this::onSignal, "necrostack-graceful-stop");
  private final CliIo io;
  private final String command;
  private final String where;
  private final CountDownLatch closed = new CountDownLatch(1);
  private volatile Spine spine;
  private volatile boolean signalled;

  /**
   * Installs the hook.
   *
   * @param io where the stop is reported
   * @param command the command's name, for that line
   * @param where what the rest of the events stay in: the Redis stream's description, or
   *     null for the in-memory queue (which goes with the process)
   */
  GracefulStop(CliIo io, String command, String where) {
    this.io = io;
    this.command = command;
    this.where = where;
    Runtime.getRuntime().addShutdownHook(hook);
  }

  @Override
  public void built(Spine spine) {
    this.spine = spine;
    if (signalled) {
      spine.stop(); // the signal came while the Spine was being built
    }
  }

  /** Whether a signal stopped the run. */
  boolean signalled() {
    return signalled;
  }

  /**
   * The line that says what a signal left: printed by {@link #close()}, because once the hook
   * is released the JVM exits, and a line printed later might never appear.
   */
  String report() {
    Spine s = spine;
    return "interrupted: stopped gracefully"
        + (s == null ? "" : " after " + s.stats().processed() + " event(s)")
        + "; in-flight events were finished and settled, the rest "
        + (where != null ? "left pending on " + where : "dropped with the in-memory queue");
  }

  private void onSignal() {
    signalled = true;
    Spine s = spine;
    if (s != null) {
      s.stop();
    }
    try {
      // Not a sleep: the command counts this down once the backend is closed.
      closed.await(WAIT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * Called once the run and its backend are closed: after a signal, prints {@link #report()}
   * and releases the hook; else removes the hook.
   */
  @Override
  public void close() {
    if (signalled) {
      io.err().println("necrostack " + command + ": " + report());
      io.err().flush();
    }
    closed.countDown();
    try {
      Runtime.getRuntime().removeShutdownHook(hook);
    } catch (IllegalStateException e) {
      // the JVM is shutting down: the hook is running and now returns
    }
  }
}
