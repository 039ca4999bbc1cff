package io.necrostack.backend;

/** A backend could not do what was asked: store, read or settle events. */
public class BackendException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** Creates the exception with a message. */
  public BackendException(String message) {
    super(message);
  }

  /** Creates the exception with a message and its cause. */
  public BackendException(String message, Throwable cause) {
    super(message, cause);
  }
}
