package io.necrostack.core;

/**
 * The backend failed too many pulls in a row; the Spine stopped.
 */
public final class BackendUnavailableException extends SpineException {
  private static final long serialVersionUID = 1L;

  private final int consecutiveFailures;

  /** Creates the exception with the failure count and the last error. */
  public BackendUnavailableException(int consecutiveFailures, Throwable lastError) {
    super("backend unavailable: " + consecutiveFailures + " consecutive pull failures; last: "
        + lastError, lastError);
    this.consecutiveFailures = consecutiveFailures;
  }

  /** How many pulls failed in a row. */
  public int consecutiveFailures() {
    return consecutiveFailures;
  }
}
