package io.necrostack.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Interoperability with the Python original: its fixtures, copied onto the test classpath, are
 * read exactly as Python wrote them.
 */
class PythonFixturesTest {
  private static final String DIR = "/fixtures/python-necrostack/";
  private static final JsonMapper JSON = JsonMapper.builder().build();

  static List<JsonNode> lines(String file) {
    InputStream in = PythonFixturesTest.class.getResourceAsStream(DIR + file);
    assertThat(in).as("fixture %s on the classpath", file).isNotNull();
    try (BufferedReader reader =
        new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
      return reader.lines().filter(l -> !l.isBlank()).map(JSON::readTree)
          .collect(Collectors.toList());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static Stream<String> streamEvents() {
    return lines("stream-entries.jsonl").stream().map(l -> l.get("fields").get("event").asString());
  }

  static Stream<JsonNode> validationCases() {
    return lines("validation-cases.jsonl").stream();
  }

  private static Map<String, Event> eventsByType() {
    return streamEvents().map(Event::fromJson)
        .collect(Collectors.toMap(Event::eventType, e -> e));
  }

  @Test
  void thereAreSevenStreamEntries() {
    assertThat(streamEvents()).hasSize(7);
    assertThat(eventsByType().keySet())
        .containsExactlyInAnyOrder(
            "GREET", "ORDER_PLACED", "NESTED", "UNICODE", "BIG_NUMBERS", "PADDED_TYPE",
            "EMPTY_PAYLOAD");
  }

  @ParameterizedTest
  @MethodSource("streamEvents")
  void everyStreamEntryParsesAndWritesBackTheSameJson(String python) {
    Event event = Event.fromJson(python);
    String java = event.toJson();
    // Same four fields with equal values (Python puts spaces after separators; Java does not).
    assertThat(JSON.readTree(java)).isEqualTo(JSON.readTree(python));
    assertThat(Event.fromJson(java)).isEqualTo(event);
    // The timestamp string is byte for byte Python's.
    assertThat(JSON.readTree(java).get("timestamp").asString())
        .isEqualTo(JSON.readTree(python).get("timestamp").asString());
  }

  @Test
  void greet() {
    Event e = eventsByType().get("GREET");
    assertThat(e.id()).isEqualTo(UUID.fromString("f40eacfe-49d5-4a4b-b67b-ff28863c6eab"));
    assertThat(e.timestamp()).isEqualTo(Instant.parse("2026-11-27T03:27:58.126108Z"));
    assertThat(e.payload()).containsExactly(Map.entry("name", "NecroStack"));
  }

  @Test
  void orderPlaced() {
    Map<String, Object> p = eventsByType().get("ORDER_PLACED").payload();
    assertThat(p.get("order_id")).isEqualTo("12345");
    assertThat(p.get("amount")).isEqualTo(99.99d);
    assertThat(p.get("qty")).isEqualTo(3);
    assertThat(p.get("express")).isEqualTo(Boolean.TRUE);
    assertThat(p).containsKey("note");
    assertThat(p.get("note")).isNull();
  }

  @Test
  void nested() {
    Map<String, Object> p = eventsByType().get("NESTED").payload();
    assertThat(p.get("items"))
        .isEqualTo(List.of(Map.of("sku", "a", "n", 1), Map.of("sku", "b", "n", 2)));
    assertThat(p.get("tags")).isEqualTo(List.of("x", "y"));
    assertThat(p.get("meta"))
        .isEqualTo(Map.of("deep", Map.of("deeper", List.of(1, 2.5d, "three"))));
  }

  @Test
  void escapedUnicodeIsDecoded() {
    Map<String, Object> p = eventsByType().get("UNICODE").payload();
    assertThat(p.get("text")).isEqualTo("Séance 🕯️ — ünïcödé ☃");
    assertThat(p.get("text"))
        .isEqualTo("S\u00e9ance \ud83d\udd6f\ufe0f \u2014 \u00fcn\u00efc\u00f6d\u00e9 \u2603");
    assertThat(p.get("emoji")).isEqualTo("👻");
  }

  @Test
  void bigNumbers() {
    Map<String, Object> p = eventsByType().get("BIG_NUMBERS").payload();
    assertThat(p.get("big")).isEqualTo(new BigInteger("12345678901234567890"));
    assertThat(p.get("neg")).isEqualTo(-42);
    assertThat(p.get("tiny")).isInstanceOf(Double.class).isEqualTo(1e-09);
    assertThat(p.get("float_int")).isInstanceOf(Double.class).isEqualTo(3.0d);
  }

  @Test
  void paddedTypeAndEmptyPayload() {
    Map<String, Event> byType = eventsByType();
    assertThat(byType.get("PADDED_TYPE").payload()).isEmpty();
    assertThat(byType.get("PADDED_TYPE").id())
        .isEqualTo(UUID.fromString("c8717fac-ddfb-4a6c-8d53-cc3e29959e01"));
    assertThat(byType.get("EMPTY_PAYLOAD").payload()).isEmpty();
  }

  @ParameterizedTest
  @MethodSource("validationCases")
  void everyValidationCaseAgreesWithPython(JsonNode validationCase) {
    String input = JSON.writeValueAsString(validationCase.get("input"));
    boolean pythonAccepts = validationCase.get("python_accepts").asBoolean();
    Throwable error = catchThrowable(() -> Event.fromJson(input));
    if (pythonAccepts) {
      assertThat(error).as("Java must accept %s", input).isNull();
    } else {
      assertThat(error).as("Java must refuse %s", input)
          .isInstanceOf(EventValidationException.class);
    }
  }

  @Test
  void thereAreValidationCases() {
    assertThat(validationCases()).hasSizeGreaterThanOrEqualTo(7);
  }

  @Test
  void deadLetterEntriesHoldReadableEvents() {
    List<JsonNode> entries = lines("dlq-entries.jsonl");
    assertThat(entries).isNotEmpty();
    for (JsonNode entry : entries) {
      Event event = Event.fromJson(entry.get("fields").get("event").asString());
      assertThat(event.eventType()).isNotBlank();
      assertThat(entry.get("fields").get("reason").asString()).isNotBlank();
    }
  }
}
