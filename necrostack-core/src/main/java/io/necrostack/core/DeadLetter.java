package io.necrostack.core;

import java.time.Instant;
import java.util.Objects;

/**
 * An event the Spine gave up on, with why and where.
 *
 * @param event the event, with its metadata
 * @param reason one line: why it was dead-lettered (e.g. "handler failed", "max depth
 *     exceeded", "enqueue refused")
 * @param organ the organ that failed it, or null when no organ did
 * @param errorClass the failure's exception class name, or null
 * @param errorMessage the failure's message, or null
 * @param attempts how many attempts were made
 * @param firstFailure when the first attempt failed
 * @param lastFailure when the last attempt failed
 */
public record DeadLetter(
    Event event,
    String reason,
    String organ,
    String errorClass,
    String errorMessage,
    int attempts,
    Instant firstFailure,
    Instant lastFailure) {

  /** Requires the event, the reason and the times. */
  public DeadLetter {
    Objects.requireNonNull(event, "event == null");
    Objects.requireNonNull(reason, "reason == null");
    Objects.requireNonNull(firstFailure, "firstFailure == null");
    Objects.requireNonNull(lastFailure, "lastFailure == null");
  }
}
