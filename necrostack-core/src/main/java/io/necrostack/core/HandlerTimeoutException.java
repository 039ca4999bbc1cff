package io.necrostack.core;

import java.time.Duration;

/** An organ's handling took longer than its policy's timeout; its late result is discarded. */
public final class HandlerTimeoutException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** Creates the exception for an organ and its timeout. */
  public HandlerTimeoutException(String organ, Duration timeout) {
    super("organ '" + organ + "' timed out after " + timeout.toMillis() + " ms");
  }
}
