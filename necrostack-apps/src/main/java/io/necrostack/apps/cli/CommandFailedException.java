package io.necrostack.apps.cli;

/**
 * A command failed for a reason the user can act on; the command line prints the message
 * after the command's name and exits with its code (1 unless said otherwise). The message
 * must never contain a password.
 */
class CommandFailedException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final int exitCode;
  private final boolean printed;

  CommandFailedException(String message) {
    this(message, null);
  }

  CommandFailedException(String message, Throwable cause) {
    this(message, cause, 1, false);
  }

  /**
   * @param exitCode the command line's exit code
   * @param printed whether the message was printed already (on stderr, by the command)
   */
  CommandFailedException(String message, Throwable cause, int exitCode, boolean printed) {
    super(message, cause);
    this.exitCode = exitCode;
    this.printed = printed;
  }

  /** The command line's exit code for this failure. */
  int exitCode() {
    return exitCode;
  }

  /** Whether the command printed the message itself, so it is not printed again. */
  boolean printed() {
    return printed;
  }
}
