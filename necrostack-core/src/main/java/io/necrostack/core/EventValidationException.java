package io.necrostack.core;

/**
 * Thrown when an event, or the JSON it is read from, is invalid.
 *
 * <p>It is the only exception type {@link Event}'s constructor, factories and
 * {@link Event#fromJson(String)} throw for bad input. The message names the field (by its
 * JSON name, with a path inside the payload such as {@code payload.items[2]}) and the reason.
 */
public final class EventValidationException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  private final String field;
  private final String reason;

  /**
   * Creates an exception for one invalid field.
   *
   * @param field the field's JSON name or payload path, e.g. {@code event_type}
   * @param reason why the value is invalid
   */
  public EventValidationException(String field, String reason) {
    this(field, reason, null);
  }

  /**
   * Creates an exception for one invalid field, with the error that revealed it.
   *
   * @param field the field's JSON name or payload path
   * @param reason why the value is invalid
   * @param cause the underlying error, or null
   */
  public EventValidationException(String field, String reason, Throwable cause) {
    super("invalid event: " + field + ": " + reason, cause);
    this.field = field;
    this.reason = reason;
  }

  /** The field's JSON name or payload path, e.g. {@code event_type} or {@code payload.a[1]}. */
  public String field() {
    return field;
  }

  /** Why the value is invalid, without the field name. */
  public String reason() {
    return reason;
  }
}
