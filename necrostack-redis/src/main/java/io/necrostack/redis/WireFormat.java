package io.necrostack.redis;

import io.necrostack.core.Event;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import tools.jackson.databind.json.JsonMapper;

/**
 * The stream entry layout shared with the Python original.
 *
 * <p>An entry's field {@value #EVENT} holds exactly {@link Event#toJson()}, the four-field JSON
 * the Python original reads. Metadata travels in further fields of the same entry, which the
 * Python original ignores: the well-known keys {@code correlation_id}, {@code causation_id}
 * and {@code depth} under their own names, every other key {@code k} as {@code meta.k}. When
 * reading, those fields go back into the event's metadata; any other field is ignored.
 *
 * <p>A dead-letter entry has the Python original's fields {@code original_id}, {@code event}
 * (the raw field, empty when the entry had none), {@code reason} and {@code failed_at}
 * (ISO-8601 UTC with microseconds, like Python's {@code isoformat()}), then {@code
 * delivery_count}, {@code error_class}, {@code stream}, {@code group}, {@code consumer}, the
 * entry's metadata fields (so a replay keeps them) and, for an entry without an {@code event}
 * field, {@code entry}: all its fields as one JSON object.
 *
 * <p>An entry over the read limits ({@value #MAX_ENTRY_FIELDS} fields, {@value
 * #MAX_ENTRY_BYTES} bytes, an {@code event} field of {@value #MAX_EVENT_BYTES} bytes) is never
 * decoded: its dead letter, written by a script on the server, keeps the first {@value
 * #DEAD_LETTER_PREFIX_BYTES} bytes of its {@code event} field (or of its fields as JSON, in
 * {@code entry_prefix}, when it has none), its size in {@code original_size} and its field
 * count in {@code original_fields}.
 */
final class WireFormat {
  static final String EVENT = "event";
  static final String META_PREFIX = "meta.";

  static final String ORIGINAL_ID = "original_id";
  static final String REASON = "reason";
  static final String FAILED_AT = "failed_at";
  static final String DELIVERY_COUNT = "delivery_count";
  static final String ERROR_CLASS = "error_class";
  static final String STREAM = "stream";
  static final String GROUP = "group";
  static final String CONSUMER = "consumer";
  static final String ENTRY = "entry";
  static final String ORIGINAL_SIZE = "original_size";
  static final String ORIGINAL_FIELDS = "original_fields";
  static final String ENTRY_PREFIX = "entry_prefix";

  /** Most fields an entry read may have: the event and the most metadata, with room to spare. */
  static final int MAX_ENTRY_FIELDS = 1_024;

  /** Largest {@value #EVENT} field read, in bytes: any valid event's JSON fits. */
  static final int MAX_EVENT_BYTES = Event.MAX_JSON_BYTES;

  /**
   * Largest entry read, in bytes of all its field names and values: the largest event JSON
   * plus twice the largest metadata (its field names carry a {@code meta.} prefix).
   */
  static final int MAX_ENTRY_BYTES = Event.MAX_JSON_BYTES + 2 * Event.MAX_METADATA_BYTES;

  /** How much of a refused entry's body its dead letter keeps, in bytes. */
  static final int DEAD_LETTER_PREFIX_BYTES = 65_536;

  private static final DateTimeFormatter PYTHON_ISO =
      DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSSSS'+00:00'").withZone(ZoneOffset.UTC);
  private static final JsonMapper JSON = JsonMapper.builder().build();

  private WireFormat() {}

  /** Adds an event's fields, in order, as field-value pairs: the event JSON, then metadata. */
  static void appendFields(Event event, List<String> out) {
    out.add(EVENT);
    out.add(event.toJson());
    for (Map.Entry<String, String> m : event.metadata().entrySet()) {
      out.add(fieldName(m.getKey()));
      out.add(m.getValue());
    }
  }

  /** The entry fields of an event, in order. */
  static Map<String, String> fields(Event event) {
    List<String> pairs = new ArrayList<>(2 + 2 * event.metadata().size());
    appendFields(event, pairs);
    Map<String, String> map = new LinkedHashMap<>();
    for (int i = 0; i < pairs.size(); i += 2) {
      map.put(pairs.get(i), pairs.get(i + 1));
    }
    return map;
  }

  private static String fieldName(String metadataKey) {
    return isWellKnown(metadataKey) ? metadataKey : META_PREFIX + metadataKey;
  }

  private static boolean isWellKnown(String key) {
    return key.equals(Event.CORRELATION_ID) || key.equals(Event.CAUSATION_ID)
        || key.equals(Event.DEPTH);
  }

  /** Metadata read back from an entry's fields; empty when there is none. */
  static Map<String, String> metadata(Map<String, String> fields) {
    Map<String, String> metadata = null;
    for (Map.Entry<String, String> f : fields.entrySet()) {
      String name = f.getKey();
      String key = null;
      if (isWellKnown(name)) {
        key = name;
      } else if (name.startsWith(META_PREFIX) && name.length() > META_PREFIX.length()
          && !name.substring(META_PREFIX.length()).isBlank()) {
        key = name.substring(META_PREFIX.length());
      }
      if (key != null && f.getValue() != null) {
        if (metadata == null) {
          metadata = new LinkedHashMap<>();
        }
        metadata.put(key, f.getValue());
      }
    }
    return metadata == null ? Map.of() : metadata;
  }

  /** The metadata fields of an entry, under their wire names, for copying into a dead letter. */
  static Map<String, String> metadataFields(Map<String, String> fields) {
    Map<String, String> out = new LinkedHashMap<>();
    metadata(fields).forEach((k, v) -> out.put(fieldName(k), v));
    return out;
  }

  /**
   * Reads an entry into an event with its metadata.
   *
   * @throws MalformedEntryException naming what is wrong
   */
  static Event decode(Map<String, String> fields) throws MalformedEntryException {
    String json = fields.get(EVENT);
    if (json == null) {
      throw new MalformedEntryException(
          "malformed entry: no '" + EVENT + "' field (fields: " + fields.keySet() + ")", null);
    }
    try {
      Event event = Event.fromJson(json);
      Map<String, String> metadata = metadata(fields);
      return metadata.isEmpty() ? event : event.withMetadata(metadata);
    } catch (RuntimeException e) {
      // EventValidationException names the field and the reason (metadata over its limits
      // too); bad JSON lands here as well.
      throw new MalformedEntryException("malformed entry: " + e.getMessage(), e);
    }
  }

  /** Now, formatted like Python's {@code datetime.now(timezone.utc).isoformat()}. */
  static String failedAt(Instant instant) {
    return PYTHON_ISO.format(instant);
  }

  /** The fields of an entry as one JSON object, for a dead letter of a malformed entry. */
  static String toJsonObject(Map<String, String> fields) {
    return JSON.writeValueAsString(fields);
  }

  /**
   * A member of the delayed-redelivery sorted set: {@code {"id": <entry id>, "fields": [field,
   * value, ...]}}. The entry id keeps members unique; the fields are those of a new entry.
   */
  static String delayedMember(String entryId, Event event) {
    List<String> fields = new ArrayList<>();
    appendFields(event, fields);
    Map<String, Object> member = new LinkedHashMap<>();
    member.put("id", entryId);
    member.put("fields", fields);
    return JSON.writeValueAsString(member);
  }

  /** An entry that cannot become an event; the message is the dead-letter reason. */
  static final class MalformedEntryException extends Exception {
    private static final long serialVersionUID = 1L;

    MalformedEntryException(String reason, Throwable cause) {
      super(reason, cause);
    }
  }
}
