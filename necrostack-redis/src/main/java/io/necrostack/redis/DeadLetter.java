package io.necrostack.redis;

import io.necrostack.core.Event;
import java.util.Map;
import java.util.Optional;

/**
 * One entry of the dead-letter stream, as written by this backend or the Python original.
 *
 * @param id the dead letter's own stream entry id
 * @param originalId the id the entry had in the main stream
 * @param eventJson the raw {@code event} field; empty when the entry had none
 * @param reason why it was dead-lettered
 * @param failedAt when, ISO-8601 UTC as written (Python's {@code isoformat()} style)
 * @param fields every field of the dead-letter entry, unmodifiable
 */
public record DeadLetter(
    String id,
    String originalId,
    String eventJson,
    String reason,
    String failedAt,
    Map<String, String> fields) {

  /** Copies the fields. */
  public DeadLetter {
    fields = Map.copyOf(fields);
  }

  /** The dead-lettered event with its metadata, if its JSON is a valid event. */
  public Optional<Event> event() {
    if (eventJson == null || eventJson.isEmpty()) {
      return Optional.empty();
    }
    try {
      Event event = Event.fromJson(eventJson);
      Map<String, String> metadata = WireFormat.metadata(fields);
      return Optional.of(metadata.isEmpty() ? event : event.withMetadata(metadata));
    } catch (IllegalArgumentException e) {
      return Optional.empty(); // a malformed entry's dead letter: nothing to rebuild
    }
  }

  /** How many times the entry had been delivered, if recorded (not by the Python original). */
  public Optional<Integer> deliveryCount() {
    try {
      return Optional.ofNullable(fields.get(WireFormat.DELIVERY_COUNT)).map(Integer::valueOf);
    } catch (NumberFormatException e) {
      return Optional.empty();
    }
  }
}
