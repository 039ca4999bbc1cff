package io.necrostack.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** The four-field JSON form: exact output, timestamps, and what fromJson refuses. */
class EventJsonTest {
  private static final JsonMapper JSON = JsonMapper.builder().build();
  private static final UUID ID = UUID.fromString("f40eacfe-49d5-4a4b-b67b-ff28863c6eab");
  private static final Instant T = Instant.parse("2026-11-27T03:27:58.126108Z");

  private static EventValidationException invalid(String json) {
    EventValidationException e =
        catchThrowableOfType(EventValidationException.class, () -> Event.fromJson(json));
    assertThat(e).as("fromJson should refuse %s", json).isNotNull();
    assertThat(e.getMessage()).contains(e.field());
    // The byte[] form refuses it the same way.
    EventValidationException fromBytes =
        catchThrowableOfType(
            EventValidationException.class,
            () -> Event.fromJson(json.getBytes(StandardCharsets.UTF_8)));
    assertThat(fromBytes).isNotNull();
    assertThat(fromBytes.field()).isEqualTo(e.field());
    return e;
  }

  @Test
  void writesTheFourFieldsExactlyAsPythonDoes() {
    Map<String, Object> payload = new LinkedHashMap<>();
    payload.put("name", "NecroStack");
    payload.put("n", 3);
    Event event = new Event(ID, T, "GREET", payload, Map.of("correlation_id", "c"));
    assertThat(event.toJson())
        .isEqualTo(
            "{\"id\":\"f40eacfe-49d5-4a4b-b67b-ff28863c6eab\","
                + "\"timestamp\":\"2026-11-27T03:27:58.126108+00:00\","
                + "\"event_type\":\"GREET\","
                + "\"payload\":{\"name\":\"NecroStack\",\"n\":3}}");
    assertThat(new String(event.toJsonBytes(), StandardCharsets.UTF_8))
        .isEqualTo(event.toJson());
  }

  @Test
  void fieldsAreInPythonsOrder() {
    JsonNode tree = JSON.readTree(Event.of("X", Map.of("a", List.of(1))).toJson());
    List<String> names = new ArrayList<>(tree.propertyNames());
    assertThat(names).containsExactly("id", "timestamp", "event_type", "payload");
  }

  @ParameterizedTest
  @CsvSource({
    "2026-11-27T03:27:58.126108Z, 2026-11-27T03:27:58.126108+00:00",
    "2026-11-27T03:27:58Z,        2026-11-27T03:27:58+00:00",
    "2026-11-27T03:27:58.000005Z, 2026-11-27T03:27:58.000005+00:00",
    "2026-11-27T03:27:58.120Z,    2026-11-27T03:27:58.120000+00:00",
    "2026-01-02T03:04:05.999999Z, 2026-01-02T03:04:05.999999+00:00",
    "0001-01-01T00:00:00Z,        0001-01-01T00:00:00+00:00",
    "9999-12-31T23:59:59.999999Z, 9999-12-31T23:59:59.999999+00:00"
  })
  void writesTimestampsAsPythonsIsoformat(String instant, String expected) {
    Event event = new Event(ID, Instant.parse(instant), "X", null, null);
    JsonNode tree = JSON.readTree(event.toJson());
    assertThat(tree.get("timestamp").asString()).isEqualTo(expected);
    assertThat(Event.fromJson(event.toJson()).timestamp()).isEqualTo(Instant.parse(instant));
  }

  @ParameterizedTest
  @CsvSource({
    "2026-11-27T03:27:58.126108+00:00,    2026-11-27T03:27:58.126108Z",
    "2026-11-27T03:27:58.126108Z,         2026-11-27T03:27:58.126108Z",
    "2026-11-27T05:27:58.126108+02:00,    2026-11-27T03:27:58.126108Z",
    "2026-11-27T03:27:58.126108,          2026-11-27T03:27:58.126108Z",
    "2026-11-27T03:27:58.126108999+00:00, 2026-11-27T03:27:58.126108Z",
    "2026-11-27T03:27:58+00:00,           2026-11-27T03:27:58Z"
  })
  void readsTimestampsWithAnyOffset(String text, String expected) {
    Event event = Event.fromJson("{\"timestamp\": \"" + text + "\", \"event_type\": \"X\"}");
    assertThat(event.timestamp()).isEqualTo(Instant.parse(expected));
  }

  @ParameterizedTest
  @ValueSource(strings = {"yesterday", "2026-13-01T00:00:00+00:00", "2026-11-27", ""})
  void rejectsBadTimestamps(String text) {
    assertThat(invalid("{\"timestamp\": \"" + text + "\", \"event_type\": \"X\"}").field())
        .isEqualTo("timestamp");
  }

  @Test
  void generatesMissingIdAndTimestampAndEmptyPayload() {
    Instant before = Instant.now().minusMillis(1);
    Event event = Event.fromJson("{\"event_type\": \"X\"}");
    assertThat(event.id().version()).isEqualTo(4);
    assertThat(event.timestamp()).isAfter(before);
    assertThat(event.payload()).isEmpty();
    assertThat(event.metadata()).isEmpty();
  }

  @Test
  void rejectsUnknownFieldsNamingThem() {
    EventValidationException e = invalid("{\"event_type\": \"X\", \"extra_field\": 1}");
    assertThat(e.field()).isEqualTo("extra_field");
    assertThat(e.reason()).contains("unknown field");
    // Metadata is not a wire field either: Java must not accept what Python refuses.
    assertThat(invalid("{\"event_type\": \"X\", \"metadata\": {}}").field())
        .isEqualTo("metadata");
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "{\"id\": 1, \"event_type\": \"X\"}                          | id",
        "{\"id\": null, \"event_type\": \"X\"}                       | id",
        "{\"timestamp\": 1764214078, \"event_type\": \"X\"}          | timestamp",
        "{\"timestamp\": null, \"event_type\": \"X\"}                | timestamp",
        "{\"event_type\": 7}                                         | event_type",
        "{\"event_type\": null}                                      | event_type",
        "{\"event_type\": [\"X\"]}                                   | event_type",
        "{\"event_type\": \"X\", \"payload\": [1, 2]}                | payload",
        "{\"event_type\": \"X\", \"payload\": \"{}\"}                | payload",
        "{\"event_type\": \"X\", \"payload\": null}                  | payload",
        "{\"payload\": {}}                                           | event_type",
        "{\"event_type\": \"\"}                                      | event_type",
        "{\"event_type\": \"  \"}                                    | event_type"
      })
  void rejectsWrongTypesPerField(String json, String field) {
    assertThat(invalid(json).field()).isEqualTo(field);
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "",
        "   ",
        "{",
        "{\"event_type\": \"X\"",
        "{\"event_type\": \"X\",}",
        "{event_type: \"X\"}",
        "not json",
        "[]",
        "null",
        "\"X\"",
        "{\"event_type\": \"X\"} {\"event_type\": \"Y\"}",
        "{\"event_type\": \"X\"} trailing",
        "{\"event_type\": \"X\", \"payload\": {\"a\": NaN}}",
        "{\"event_type\": \"X\", \"payload\": {\"a\": 01}}"
      })
  void rejectsMalformedJson(String json) {
    EventValidationException e = invalid(json);
    assertThat(e.field()).isIn("json", "event", "payload");
  }

  @Test
  void rejectsInvalidUtf8() {
    byte[] bytes = "{\"event_type\": \"X\", \"payload\": {\"s\": \"??\"}}"
        .getBytes(StandardCharsets.UTF_8);
    int at = new String(bytes, StandardCharsets.UTF_8).indexOf("??");
    bytes[at] = (byte) 0xC3; // a two-byte sequence...
    bytes[at + 1] = (byte) 0x28; // ...broken by an ASCII byte
    byte[] broken = bytes;
    EventValidationException e =
        catchThrowableOfType(EventValidationException.class, () -> Event.fromJson(broken));
    assertThat(e).isNotNull();
    assertThat(e.field()).isEqualTo("json");
  }

  @Test
  void rejectsNumbersTooLargeForADouble() {
    // Python reads 1e400 as inf, which an event may not hold: refused, as Event.of refuses it.
    EventValidationException e = invalid("{\"event_type\": \"X\", \"payload\": {\"a\": 1e400}}");
    assertThat(e.field()).startsWith("payload");
    assertThat(e.reason()).contains("finite");
  }

  private static String nestedJson(int levels) {
    return "{\"event_type\": \"X\", \"payload\": "
        + "{\"n\": [".repeat(levels) + "]}".repeat(levels) + "}";
  }

  @Test
  void readsNestingUpToTheLimit() {
    // Each level is a map and a list: 2 * 250 containers, under the 501 allowed.
    assertThat(Event.fromJson(nestedJson(250)).payload()).containsKey("n");
  }

  @Test
  void refusesNestingBeyondTheLimitNamingThePayload() {
    EventValidationException e = invalid(nestedJson(Payloads.MAX_DEPTH));
    assertThat(e.field()).isEqualTo("payload");
    assertThat(e.reason()).contains("nested deeper");
  }

  @Test
  void refusesAbsurdNestingWithoutOverflowingTheStack() {
    EventValidationException e = invalid(nestedJson(50_000));
    assertThat(e.field()).isIn("payload", "json");
  }

  @Test
  void readsEveryJsonValueType() {
    Event event =
        Event.fromJson(
            "{\"event_type\": \"X\", \"payload\": {\"s\": \"t\", \"i\": -42,"
                + " \"l\": 9007199254740993,"
                + " \"b\": 123456789012345678901234567890, \"d\": 2.5, \"e\": 1E+2, \"t\": true,"
                + " \"f\": false, \"n\": null, \"a\": [1, [2, {}]], \"o\": {\"k\": []}}}");
    Map<String, Object> p = event.payload();
    assertThat(p.get("s")).isEqualTo("t");
    assertThat(p.get("i")).isEqualTo(-42);
    assertThat(p.get("l")).isEqualTo(9007199254740993L);
    assertThat(p.get("b")).isEqualTo(new BigInteger("123456789012345678901234567890"));
    assertThat(p.get("d")).isEqualTo(2.5d);
    assertThat(p.get("e")).isEqualTo(100.0d);
    assertThat(p.get("t")).isEqualTo(true);
    assertThat(p.get("f")).isEqualTo(false);
    assertThat(p).containsKey("n");
    assertThat(p.get("n")).isNull();
    assertThat(p.get("a")).isEqualTo(List.of(1, List.of(2, Map.of())));
    assertThat(p.get("o")).isEqualTo(Map.of("k", List.of()));
    assertThat(p).containsOnlyKeys("s", "i", "l", "b", "d", "e", "t", "f", "n", "a", "o");
    assertThat(new ArrayList<>(p.keySet()).get(0)).isEqualTo("s"); // order kept
  }

  @Test
  void aPayloadReadFromJsonIsUnmodifiable() {
    Event event =
        Event.fromJson("{\"event_type\": \"X\", \"payload\": {\"a\": [1, {\"b\": 2}]}}");
    @SuppressWarnings("unchecked")
    List<Object> list = (List<Object>) event.payload().get("a");
    @SuppressWarnings("unchecked")
    Map<String, Object> inner = (Map<String, Object>) list.get(1);
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> event.payload().put("x", 1))
        .isInstanceOf(UnsupportedOperationException.class);
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> list.add(3))
        .isInstanceOf(UnsupportedOperationException.class);
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> inner.put("c", 3))
        .isInstanceOf(UnsupportedOperationException.class);
  }

  @Test
  void aRoundTripKeepsEveryFieldButMetadata() {
    Event event =
        new Event(ID, T, "ORDER", Map.of("amount", 99.99, "tags", List.of("x")),
            Map.of("correlation_id", "c"));
    Event back = Event.fromJson(event.toJson());
    assertThat(back.id()).isEqualTo(ID);
    assertThat(back.timestamp()).isEqualTo(T);
    assertThat(back.eventType()).isEqualTo("ORDER");
    assertThat(back.payload()).isEqualTo(event.payload());
    assertThat(back.metadata()).isEmpty();
    assertThat(Event.fromJson(event.toJsonBytes())).isEqualTo(back);
  }

  @Test
  void unicodeAndEscapesSurviveARoundTrip() {
    String text = "Séance 🕯️ — ünïcödé ☃ \"q\" \\ / \b\f\n\r\t \u0000 \u001f \u2028 \u007f";
    Event event = Event.of("X", Map.of(text, text));
    Event back = Event.fromJson(event.toJson());
    assertThat(back.payload()).containsExactly(Map.entry(text, text));
  }

  @Test
  void nullInputIsRefusedNamingTheJson() {
    assertThat(
            catchThrowableOfType(
                    EventValidationException.class, () -> Event.fromJson((String) null))
                .field())
        .isEqualTo("json");
    assertThat(
            catchThrowableOfType(
                    EventValidationException.class, () -> Event.fromJson((byte[]) null))
                .field())
        .isEqualTo("json");
  }
}
