package io.necrostack.apps.etl;

/** The input cannot be read; the message says why and where (row and line when known). */
final class EtlInputException extends Exception {
  private static final long serialVersionUID = 1L;

  EtlInputException(String message) {
    super(message);
  }

  EtlInputException(String message, Throwable cause) {
    super(message, cause);
  }
}
