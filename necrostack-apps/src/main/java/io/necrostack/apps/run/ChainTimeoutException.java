package io.necrostack.apps.run;

import java.time.Duration;

/** A chain did not finish within its run's timeout; the Spine was stopped. */
public final class ChainTimeoutException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final Duration timeout;

  /**
   * @param timeout the bound that was exceeded
   * @param detail what had happened by then
   */
  public ChainTimeoutException(Duration timeout, String detail) {
    super("did not finish within " + ChainRunner.describe(timeout) + " (" + detail + ")");
    this.timeout = timeout;
  }

  /** The bound that was exceeded. */
  public Duration timeout() {
    return timeout;
  }
}
