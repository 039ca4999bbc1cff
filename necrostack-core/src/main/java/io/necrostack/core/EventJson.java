package io.necrostack.core;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import tools.jackson.core.JacksonException;
import tools.jackson.core.JsonGenerator;
import tools.jackson.core.JsonParser;
import tools.jackson.core.JsonToken;
import tools.jackson.core.StreamReadConstraints;
import tools.jackson.core.StreamReadFeature;
import tools.jackson.core.StreamWriteConstraints;
import tools.jackson.core.json.JsonFactory;
import tools.jackson.databind.json.JsonMapper;

/**
 * The four-field JSON form of an event, as the Python original writes it.
 *
 * <p>{@code {"id": "<uuid4>", "timestamp": "2026-11-27T03:27:58.126108+00:00", "event_type":
 * "...", "payload": {...}}}: fields in that order, the timestamp as Python's {@code
 * datetime.isoformat()} writes an aware UTC time (microseconds, omitted when zero, and
 * {@code +00:00}). Metadata is never written here.
 */
final class EventJson {
  /**
   * The longest number read, in characters: Jackson's default. A longer one is refused before
   * it is converted (turning digits into a BigInteger takes time quadratic in their count).
   */
  static final int MAX_NUMBER_LENGTH = 1_000;

  static final JsonMapper MAPPER =
      JsonMapper.builder(
              JsonFactory.builder()
                  // Every bound matched to the event's own, so outside JSON costs no more than
                  // a valid event: the document to Event.MAX_JSON_BYTES (checked as it is read,
                  // not after), a string to the document (the payload check words a long one),
                  // a name to the payload, tokens to one per byte.
                  // Jackson's default depth (500) is below what a payload may nest
                  // (Payloads.MAX_DEPTH, plus the event object around it), and its default name
                  // length below what fits in a payload: every valid event must write and read.
                  .streamReadConstraints(
                      StreamReadConstraints.builder()
                          .maxDocumentLength(Event.MAX_JSON_BYTES)
                          .maxStringLength(Event.MAX_JSON_BYTES)
                          .maxNameLength(Payloads.MAX_PAYLOAD_BYTES)
                          .maxNumberLength(MAX_NUMBER_LENGTH)
                          .maxTokenCount(Event.MAX_JSON_BYTES)
                          .maxNestingDepth(Payloads.MAX_DEPTH + 8)
                          .build())
                  .streamWriteConstraints(
                      StreamWriteConstraints.builder()
                          .maxNestingDepth(Payloads.MAX_DEPTH + 8)
                          .build())
                  .build())
          .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
          .build();

  private static final String FIELDS = "an event has only id, timestamp, event_type and payload";

  private EventJson() {}

  // ---------------------------------------------------------------- writing

  static byte[] write(Event event) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(128 + 64 * event.payload().size());
    try (JsonGenerator gen = MAPPER.createGenerator(out)) {
      gen.writeStartObject();
      gen.writeName("id");
      gen.writeString(event.id().toString());
      gen.writeName("timestamp");
      gen.writeString(formatTimestamp(event.timestamp()));
      gen.writeName("event_type");
      gen.writeString(event.eventType());
      gen.writeName("payload");
      gen.flush();
      int before = out.size();
      writeValue(gen, event.payload());
      gen.flush();
      // The ':' after "payload" is only written with the value: it is not the payload's.
      int size = out.size() - before - 1;
      if (size > Payloads.MAX_PAYLOAD_BYTES) {
        throw Payloads.tooLarge(size);
      }
      gen.writeEndObject();
    }
    return out.toByteArray();
  }

  /** The exact serialized size of a payload value, in UTF-8 bytes. */
  static long payloadSize(Object value) {
    CountingStream counter = new CountingStream();
    try (JsonGenerator gen = MAPPER.createGenerator(counter)) {
      writeValue(gen, value);
    }
    return counter.count;
  }

  private static void writeValue(JsonGenerator gen, Object value) {
    if (value == null) {
      gen.writeNull();
    } else if (value instanceof String s) {
      gen.writeString(s);
    } else if (value instanceof Integer i) {
      gen.writeNumber(i);
    } else if (value instanceof Long l) {
      gen.writeNumber(l);
    } else if (value instanceof Double d) {
      gen.writeNumber(d);
    } else if (value instanceof Boolean b) {
      gen.writeBoolean(b);
    } else if (value instanceof Map<?, ?> map) {
      gen.writeStartObject();
      for (Map.Entry<?, ?> e : map.entrySet()) {
        gen.writeName((String) e.getKey());
        writeValue(gen, e.getValue());
      }
      gen.writeEndObject();
    } else if (value instanceof List<?> list) {
      gen.writeStartArray();
      for (int i = 0, n = list.size(); i < n; i++) {
        writeValue(gen, list.get(i));
      }
      gen.writeEndArray();
    } else if (value instanceof BigInteger b) {
      gen.writeNumber(b);
    } else if (value instanceof BigDecimal d) {
      gen.writeNumber(d);
    } else {
      // Unreachable for frozen payloads; kept so a bug shows up loudly, not as bad JSON.
      throw new IllegalStateException("not a JSON value: " + value.getClass().getName());
    }
  }

  /** Formats like Python's {@code datetime.isoformat()} for an aware UTC datetime. */
  static String formatTimestamp(Instant instant) {
    LocalDateTime t = LocalDateTime.ofEpochSecond(instant.getEpochSecond(), 0, ZoneOffset.UTC);
    int micros = instant.getNano() / 1000;
    StringBuilder sb = new StringBuilder(32);
    pad(sb, t.getYear(), 4).append('-');
    pad(sb, t.getMonthValue(), 2).append('-');
    pad(sb, t.getDayOfMonth(), 2).append('T');
    pad(sb, t.getHour(), 2).append(':');
    pad(sb, t.getMinute(), 2).append(':');
    pad(sb, t.getSecond(), 2);
    if (micros != 0) {
      pad(sb.append('.'), micros, 6);
    }
    return sb.append("+00:00").toString();
  }

  private static StringBuilder pad(StringBuilder sb, int value, int width) {
    String digits = Integer.toString(value);
    for (int i = digits.length(); i < width; i++) {
      sb.append('0');
    }
    return sb.append(digits);
  }

  /**
   * Parses an ISO-8601 timestamp with an offset ({@code +00:00}, {@code Z}, any other offset),
   * or without one, taken as UTC as Python does for naive times. Precision is cut to
   * microseconds.
   */
  static Instant parseTimestamp(String text) {
    Instant fast = parseCanonicalTimestamp(text);
    if (fast != null) {
      return fast;
    }
    try {
      Instant instant;
      try {
        instant = OffsetDateTime.parse(text, DateTimeFormatter.ISO_OFFSET_DATE_TIME).toInstant();
      } catch (DateTimeParseException e) {
        instant = LocalDateTime.parse(text, DateTimeFormatter.ISO_LOCAL_DATE_TIME)
            .toInstant(ZoneOffset.UTC);
      }
      return instant.truncatedTo(ChronoUnit.MICROS);
    } catch (DateTimeParseException e) {
      throw new EventValidationException(
          "timestamp", "not an ISO-8601 date-time: '" + shorten(text) + "'");
    }
  }

  /**
   * The fast path of {@link #parseTimestamp}: the form this class and the Python original
   * write, {@code yyyy-MM-ddTHH:mm:ss[.f{1,9}]} then {@code +00:00}, {@code Z} or nothing,
   * parsed by hand. Anything else (other offsets, lower-case separators, out-of-range fields,
   * signed years) returns null and takes the DateTimeFormatter path, which decides and words
   * the error. Why: DateTimeFormatter took about half the time of reading an event from a
   * Redis stream (JFR), and every event read carries one timestamp.
   */
  private static Instant parseCanonicalTimestamp(String t) {
    int len = t.length();
    if (len < 19 || t.charAt(4) != '-' || t.charAt(7) != '-' || t.charAt(10) != 'T'
        || t.charAt(13) != ':' || t.charAt(16) != ':') {
      return null;
    }
    int year = digits(t, 0, 4);
    int month = digits(t, 5, 2);
    int day = digits(t, 8, 2);
    int hour = digits(t, 11, 2);
    int minute = digits(t, 14, 2);
    int second = digits(t, 17, 2);
    if ((year | month | day | hour | minute | second) < 0
        || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) {
      return null;
    }
    int i = 19;
    int nanos = 0;
    if (i < len && t.charAt(i) == '.') {
      int start = ++i;
      while (i < len && i - start < 9 && isDigit(t.charAt(i))) {
        nanos = nanos * 10 + (t.charAt(i) - '0');
        i++;
      }
      int n = i - start;
      if (n == 0) {
        return null;
      }
      for (; n < 9; n++) {
        nanos *= 10;
      }
    }
    if (i != len && !(i + 1 == len && t.charAt(i) == 'Z')
        && !(i + 6 == len && t.startsWith("+00:00", i))) {
      return null;
    }
    if (day > 28 && day > java.time.YearMonth.of(year, month).lengthOfMonth()) {
      return null;
    }
    long epochDay = java.time.LocalDate.of(year, month, day).toEpochDay();
    long seconds = epochDay * 86_400 + hour * 3_600L + minute * 60L + second;
    return Instant.ofEpochSecond(seconds, nanos - nanos % 1_000); // cut to microseconds
  }

  /** The value of {@code count} ASCII digits at {@code from}, or -1 if one is not a digit. */
  private static int digits(String t, int from, int count) {
    int v = 0;
    for (int i = from; i < from + count; i++) {
      char c = t.charAt(i);
      if (!isDigit(c)) {
        return -1;
      }
      v = v * 10 + (c - '0');
    }
    return v;
  }

  private static boolean isDigit(char c) {
    return c >= '0' && c <= '9';
  }

  // ---------------------------------------------------------------- reading

  static Event read(byte[] json) {
    try (JsonParser p = MAPPER.createParser(json)) {
      return read(p);
    } catch (EventValidationException e) {
      throw e;
    } catch (JacksonException e) {
      throw malformed(e);
    }
  }

  static Event read(String json) {
    try (JsonParser p = MAPPER.createParser(json)) {
      return read(p);
    } catch (EventValidationException e) {
      throw e;
    } catch (JacksonException e) {
      throw malformed(e);
    }
  }

  /** Refuses JSON longer than {@link Event#MAX_JSON_BYTES} without parsing it. */
  static EventValidationException tooLong(long length, String unit) {
    return new EventValidationException("json", "is " + length + " " + unit
        + ", over the limit of " + Event.MAX_JSON_BYTES + " bytes");
  }

  private static EventValidationException malformed(JacksonException e) {
    return new EventValidationException("json", "malformed JSON: " + e.getOriginalMessage(), e);
  }

  private static Event read(JsonParser p) {
    JsonToken first = p.nextToken();
    if (first != JsonToken.START_OBJECT) {
      throw new EventValidationException(
          "event", "expected a JSON object, got " + describe(first));
    }
    UUID id = null;
    Instant timestamp = null;
    String eventType = null;
    Map<String, Object> payload = null;
    String name;
    while ((name = p.nextName()) != null) {
      JsonToken token = p.nextToken();
      switch (name) {
        case "id" -> id = Uuids.parseV4(requireString(p, token, "id"), "id");
        case "timestamp" -> timestamp = parseTimestamp(requireString(p, token, "timestamp"));
        case "event_type" -> eventType = requireString(p, token, "event_type");
        case "payload" -> {
          if (token != JsonToken.START_OBJECT) {
            throw new EventValidationException(
                "payload", "must be a JSON object, got " + describe(token));
          }
          long[] bound = {0};
          payload = readObject(p, bound, 0);
          if (bound[0] > Payloads.MAX_PAYLOAD_BYTES) {
            long exact = payloadSize(payload);
            if (exact > Payloads.MAX_PAYLOAD_BYTES) {
              throw Payloads.tooLarge(exact);
            }
          }
        }
        default -> throw new EventValidationException(
            shorten(name), "unknown field; " + FIELDS);
      }
    }
    if (p.nextToken() != null) {
      throw new EventValidationException("json", "unexpected content after the event object");
    }
    if (eventType == null) {
      throw new EventValidationException("event_type", "is required");
    }
    return new Event(id, timestamp, eventType, payload, null);
  }

  private static String requireString(JsonParser p, JsonToken token, String field) {
    if (token != JsonToken.VALUE_STRING) {
      throw new EventValidationException(field, "must be a string, got " + describe(token));
    }
    return p.getString();
  }

  private static Payloads.FrozenMap readObject(JsonParser p, long[] bound, int depth) {
    if (depth > Payloads.MAX_DEPTH) {
      throw new EventValidationException(
          "payload", "nested deeper than " + Payloads.MAX_DEPTH + " levels");
    }
    long start = bound[0];
    bound[0] += 2;
    LinkedHashMap<String, Object> map = new LinkedHashMap<>();
    String name;
    while ((name = p.nextName()) != null) {
      bound[0] += 6L * name.length() + 4;
      map.put(name, readValue(p, p.nextToken(), bound, depth + 1));
    }
    return Payloads.wrapParsed(map, bound[0] - start);
  }

  private static Object readValue(JsonParser p, JsonToken token, long[] bound, int depth) {
    switch (token) {
      case VALUE_STRING -> {
        String s = p.getString();
        bound[0] += 6L * s.length() + 2;
        return s;
      }
      case VALUE_NUMBER_INT -> {
        bound[0] += 20;
        return switch (p.getNumberType()) {
          case INT -> p.getIntValue();
          case LONG -> p.getLongValue();
          default -> {
            BigInteger big = p.getBigIntegerValue();
            bound[0] += big.bitLength() / 3;
            yield big;
          }
        };
      }
      case VALUE_NUMBER_FLOAT -> {
        bound[0] += 26;
        double d = p.getDoubleValue();
        if (Double.isInfinite(d)) {
          // 1e400 overflows a double; an event may not hold what JSON cannot write back.
          throw new EventValidationException(
              "payload",
              "number " + shorten(p.getString()) + " is out of range; numbers must be finite");
        }
        return d;
      }
      case VALUE_TRUE -> {
        bound[0] += 5;
        return Boolean.TRUE;
      }
      case VALUE_FALSE -> {
        bound[0] += 5;
        return Boolean.FALSE;
      }
      case VALUE_NULL -> {
        bound[0] += 4;
        return null;
      }
      case START_OBJECT -> {
        return readObject(p, bound, depth);
      }
      case START_ARRAY -> {
        if (depth > Payloads.MAX_DEPTH) {
          throw new EventValidationException(
              "payload", "nested deeper than " + Payloads.MAX_DEPTH + " levels");
        }
        long start = bound[0];
        bound[0] += 2;
        List<Object> list = new ArrayList<>();
        JsonToken t;
        while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
          list.add(readValue(p, t, bound, depth + 1));
          bound[0] += 1;
        }
        return Payloads.wrapParsed(list, bound[0] - start);
      }
      default -> throw new EventValidationException("payload", "unexpected token " + token);
    }
  }

  private static String describe(JsonToken token) {
    if (token == null) {
      return "nothing";
    }
    return switch (token) {
      case START_OBJECT -> "an object";
      case START_ARRAY -> "an array";
      case VALUE_STRING -> "a string";
      case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> "a number";
      case VALUE_TRUE, VALUE_FALSE -> "a boolean";
      case VALUE_NULL -> "null";
      default -> token.toString();
    };
  }

  private static String shorten(String text) {
    return text.length() > 80 ? text.substring(0, 80) + "..." : text;
  }

  /** The UTF-8 length of a string, in bytes; an unpaired surrogate counts 3 (an upper bound). */
  static long utf8Length(String s) {
    long bytes = 0;
    for (int i = 0, n = s.length(); i < n; i++) {
      char c = s.charAt(i);
      if (c < 0x80) {
        bytes++;
      } else if (c < 0x800) {
        bytes += 2;
      } else if (Character.isHighSurrogate(c) && i + 1 < n
          && Character.isLowSurrogate(s.charAt(i + 1))) {
        bytes += 4;
        i++;
      } else {
        bytes += 3;
      }
    }
    return bytes;
  }

  static String toUtf8String(byte[] bytes) {
    return new String(bytes, StandardCharsets.UTF_8);
  }

  /** Counts bytes and keeps none: measures a serialized size without holding it. */
  private static final class CountingStream extends OutputStream {
    long count;

    @Override
    public void write(int b) {
      count++;
    }

    @Override
    public void write(byte[] b, int off, int len) {
      count += len;
    }
  }
}
