package io.necrostack.core;

/** The Spine stopped because of a failure it could not handle; the cause says which. */
public class SpineException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** Creates the exception with a message. */
  public SpineException(String message) {
    super(message);
  }

  /** Creates the exception with a message and its cause. */
  public SpineException(String message, Throwable cause) {
    super(message, cause);
  }
}
