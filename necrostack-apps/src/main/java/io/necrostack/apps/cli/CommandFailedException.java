package io.necrostack.apps.cli;

/**
 * A command failed for a reason the user can act on; the command line prints the message
 * after the command's name and exits with 1. The message must never contain a password.
 */
final class CommandFailedException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  CommandFailedException(String message) {
    super(message);
  }

  CommandFailedException(String message, Throwable cause) {
    super(message, cause);
  }
}
