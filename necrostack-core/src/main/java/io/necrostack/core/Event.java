package io.necrostack.core;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Collections;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import tools.jackson.core.JacksonException;
import tools.jackson.core.type.TypeReference;

/**
 * An immutable, validated message: the unit that flows between organs.
 *
 * <p>Four fields travel on the wire, exactly as the Python original writes them: {@code id} (a
 * random version-4 UUID, generated when absent), {@code timestamp} (a UTC instant with
 * microsecond precision, generated when absent), {@code event_type} (non-blank, stored
 * trimmed) and {@code payload} (a JSON object). Beside them, {@code metadata} holds string
 * pairs such as the correlation and causation ids; it never enters {@link #toJson()}, so
 * Python consumers keep accepting events written by Java.
 *
 * <p>The payload is deep-copied into unmodifiable maps and lists whose values are null,
 * Boolean, a number (Integer, Long, BigInteger, Double or BigDecimal), String, List or Map.
 * Its serialized form may not exceed {@value #MAX_PAYLOAD_BYTES} UTF-8 bytes. The type is at
 * most {@value #MAX_EVENT_TYPE_LENGTH} characters; metadata holds at most {@value
 * #MAX_METADATA_KEYS} pairs of at most {@value #MAX_METADATA_BYTES} UTF-8 bytes in all. These
 * bounds keep every event, and every script that writes one, of a known size (a Lua script
 * cannot take more than about 8,000 arguments in one call). Every invalid input throws
 * {@link EventValidationException} naming the field and the reason.
 *
 * <p>An event is an {@link Emission} of itself, so a handler can return it directly.
 *
 * @param id the event's id, a version-4 UUID; generated when null
 * @param timestamp when the event was created, cut to microseconds, within the years 1 to
 *     9999 (Python's datetime range); now when null
 * @param eventType what happened, non-blank, stored trimmed
 * @param payload the event's data; empty when null
 * @param metadata string pairs beside the event (correlation, causation, depth); empty when
 *     null
 */
public record Event(
    UUID id,
    Instant timestamp,
    String eventType,
    Map<String, Object> payload,
    Map<String, String> metadata)
    implements Emission {

  /** Metadata key: the id of the first event of the chain this event belongs to. */
  public static final String CORRELATION_ID = "correlation_id";

  /** Metadata key: the id of the event whose handling emitted this one. */
  public static final String CAUSATION_ID = "causation_id";

  /** Metadata key: how many hand-offs separate this event from the start of its chain. */
  public static final String DEPTH = "depth";

  /** The largest serialized payload, in UTF-8 bytes. */
  public static final int MAX_PAYLOAD_BYTES = Payloads.MAX_PAYLOAD_BYTES;

  /** The longest event type, in characters (after trimming). */
  public static final int MAX_EVENT_TYPE_LENGTH = 256;

  /** The most metadata pairs an event may carry. */
  public static final int MAX_METADATA_KEYS = 1_000;

  /** The largest metadata, in UTF-8 bytes of its keys and values together. */
  public static final int MAX_METADATA_BYTES = 65_536;

  /**
   * The largest four-field JSON {@link #fromJson(String)} reads, in UTF-8 bytes (characters for
   * a String). Every valid event's JSON is smaller: the payload's limit plus an envelope of at
   * most a few kilobytes. Longer input is refused before it is parsed.
   */
  public static final int MAX_JSON_BYTES = 1_048_576;

  /** Validates and copies every field; see the class documentation for the rules. */
  public Event {
    if (id == null) {
      id = Uuids.randomV4();
    } else if (!Uuids.isV4(id)) {
      throw new EventValidationException(
          "id", "must be a version-4 UUID, got version " + id.version() + ": " + id);
    }
    timestamp = timestamp == null ? now() : micros(checkRange(timestamp));
    eventType = checkType(eventType);
    payload = Payloads.freeze(payload);
    metadata = freezeMetadata(metadata);
  }

  /** An event of the given type with an empty payload. */
  public static Event of(String eventType) {
    return new Event(null, null, eventType, null, null);
  }

  /** An event of the given type; the payload is deep-copied. */
  public static Event of(String eventType, Map<String, ?> payload) {
    return new Event(null, null, eventType, copyTyped(payload), null);
  }

  /**
   * An event whose payload is a record or POJO converted to a JSON object (with Jackson).
   *
   * @throws EventValidationException if the object does not convert to a JSON object
   */
  public static Event fromObject(String eventType, Object payload) {
    if (payload == null) {
      throw new EventValidationException("payload", "must not be null");
    }
    Map<String, Object> map;
    try {
      map = EventJson.MAPPER.convertValue(payload, new TypeReference<Map<String, Object>>() {});
    } catch (JacksonException | IllegalArgumentException e) {
      throw new EventValidationException(
          "payload",
          "cannot convert " + payload.getClass().getName() + " to a JSON object: "
              + e.getMessage(),
          e);
    }
    return new Event(null, null, eventType, map, null);
  }

  /**
   * Reads an event from its four-field JSON, as written by {@link #toJson()} or the Python
   * original. Unknown fields are rejected; a missing id or timestamp is generated, a missing
   * payload is empty. The result has no metadata.
   *
   * @throws EventValidationException naming the field and the reason
   */
  public static Event fromJson(String json) {
    if (json == null) {
      throw new EventValidationException("json", "must not be null");
    }
    if (json.length() > MAX_JSON_BYTES) {
      throw EventJson.tooLong(json.length(), "characters");
    }
    return EventJson.read(json);
  }

  /** Reads an event from its four-field JSON in UTF-8 bytes; see {@link #fromJson(String)}. */
  public static Event fromJson(byte[] json) {
    if (json == null) {
      throw new EventValidationException("json", "must not be null");
    }
    if (json.length > MAX_JSON_BYTES) {
      throw EventJson.tooLong(json.length, "bytes");
    }
    return EventJson.read(json);
  }

  /**
   * The four-field JSON of this event: {@code id}, {@code timestamp}, {@code event_type},
   * {@code payload}. Metadata is not included.
   *
   * @throws EventValidationException if the payload serializes to more than {@link
   *     #MAX_PAYLOAD_BYTES}
   */
  public String toJson() {
    return EventJson.toUtf8String(EventJson.write(this));
  }

  /** The four-field JSON of this event in UTF-8 bytes; see {@link #toJson()}. */
  public byte[] toJsonBytes() {
    return EventJson.write(this);
  }

  /**
   * The payload converted to the given type, such as a record (with Jackson).
   *
   * @throws EventValidationException if the payload does not fit the type
   */
  public <T> T payloadAs(Class<T> type) {
    try {
      return EventJson.MAPPER.convertValue(payload, type);
    } catch (JacksonException | IllegalArgumentException e) {
      throw new EventValidationException(
          "payload", "does not convert to " + type.getName() + ": " + e.getMessage(), e);
    }
  }

  /** This event with one more metadata pair (replacing a pair with the same key). */
  public Event withMetadata(String key, String value) {
    Map<String, String> copy = new HashMap<>(metadata);
    copy.put(key, value);
    return new Event(id, timestamp, eventType, payload, copy);
  }

  /** This event with the given metadata pairs added (replacing pairs with the same keys). */
  public Event withMetadata(Map<String, String> pairs) {
    Map<String, String> copy = new HashMap<>(metadata);
    copy.putAll(pairs);
    return new Event(id, timestamp, eventType, payload, copy);
  }

  /** The correlation id (the id of the chain's first event), if set. */
  public Optional<String> correlationId() {
    return Optional.ofNullable(metadata.get(CORRELATION_ID));
  }

  /** The causation id (the id of the event whose handling emitted this one), if set. */
  public Optional<String> causationId() {
    return Optional.ofNullable(metadata.get(CAUSATION_ID));
  }

  /** The chain depth from metadata: 0 for an event no organ emitted. */
  public int depth() {
    if (metadata instanceof StampedMetadata stamped) {
      return stamped.depth(); // kept as an int: no parsing on the hot path
    }
    String depth = metadata.get(DEPTH);
    if (depth == null) {
      return 0;
    }
    try {
      return Integer.parseInt(depth);
    } catch (NumberFormatException e) {
      return 0; // metadata from elsewhere; a bad depth must not fail the event
    }
  }

  private static Instant now() {
    return micros(Instant.now());
  }

  private static Instant micros(Instant instant) {
    return instant.getNano() % 1000 == 0 ? instant : instant.truncatedTo(ChronoUnit.MICROS);
  }

  /** Python's datetime holds years 1 to 9999; an event outside would not read back. */
  private static Instant checkRange(Instant timestamp) {
    long seconds = timestamp.getEpochSecond();
    if (seconds < MIN_EPOCH_SECOND || seconds > MAX_EPOCH_SECOND) {
      throw new EventValidationException(
          "timestamp", "must be within the years 1 to 9999, got " + timestamp);
    }
    return timestamp;
  }

  private static final long MIN_EPOCH_SECOND = -62_135_596_800L; // 0001-01-01T00:00:00Z
  private static final long MAX_EPOCH_SECOND = 253_402_300_799L; // 9999-12-31T23:59:59Z

  private static String checkType(String eventType) {
    if (eventType == null) {
      throw new EventValidationException("event_type", "is required");
    }
    String trimmed = eventType.strip();
    if (trimmed.isEmpty()) {
      throw new EventValidationException("event_type", "must not be blank");
    }
    if (trimmed.length() > MAX_EVENT_TYPE_LENGTH) {
      throw new EventValidationException("event_type", "is " + trimmed.length()
          + " characters, over the limit of " + MAX_EVENT_TYPE_LENGTH);
    }
    return trimmed;
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> copyTyped(Map<String, ?> payload) {
    // Payloads.freeze copies it; the cast only widens the value type.
    return (Map<String, Object>) payload;
  }

  private static Map<String, String> freezeMetadata(Map<String, String> metadata) {
    if (metadata == null || metadata.isEmpty()) {
      return Map.of();
    }
    if (metadata instanceof StampedMetadata stamped) {
      // The Spine's own: unmodifiable, three constant keys, non-null values; only an inherited
      // correlation id of unusual length needs measuring.
      if (stamped.inheritedLength() > MAX_METADATA_BYTES / 4) {
        checkMetadataBytes(metadata);
      }
      return metadata;
    }
    if (metadata.size() > MAX_METADATA_KEYS) {
      throw new EventValidationException("metadata", "has " + metadata.size()
          + " keys, over the limit of " + MAX_METADATA_KEYS);
    }
    long chars = 0;
    for (Map.Entry<String, String> e : metadata.entrySet()) {
      String key = e.getKey();
      if (key == null || key.isBlank()) {
        throw new EventValidationException("metadata", "keys must not be blank");
      }
      String value = e.getValue();
      if (value == null) {
        throw new EventValidationException("metadata." + key, "must not be null");
      }
      chars += key.length() + value.length();
    }
    // A char is at most 3 UTF-8 bytes: only metadata near the limit is measured exactly.
    if (chars * 3 > MAX_METADATA_BYTES) {
      checkMetadataBytes(metadata);
    }
    Class<?> type = metadata.getClass();
    if (type == IMMUTABLE_MAP_N || type == IMMUTABLE_MAP_1) {
      return metadata; // already unmodifiable and owned by no one who could change it
    }
    return Collections.unmodifiableMap(new HashMap<>(metadata));
  }

  private static void checkMetadataBytes(Map<String, String> metadata) {
    long bytes = 0;
    for (Map.Entry<String, String> e : metadata.entrySet()) {
      bytes += EventJson.utf8Length(e.getKey()) + EventJson.utf8Length(e.getValue());
    }
    if (bytes > MAX_METADATA_BYTES) {
      throw new EventValidationException("metadata", "is " + bytes
          + " UTF-8 bytes (keys and values), over the limit of " + MAX_METADATA_BYTES);
    }
  }

  private static final Class<?> IMMUTABLE_MAP_N = Map.of("a", "1", "b", "2").getClass();
  private static final Class<?> IMMUTABLE_MAP_1 = Map.of("a", "1").getClass();
}
