package io.necrostack.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Event validation, defaults, immutability and the payload size limit. */
class EventTest {

  private static EventValidationException invalid(Runnable action) {
    EventValidationException e = catchThrowableOfType(EventValidationException.class, action::run);
    assertThat(e).as("expected an EventValidationException").isNotNull();
    assertThat(e).isInstanceOf(IllegalArgumentException.class);
    assertThat(e.getMessage()).contains(e.field());
    return e;
  }

  @Nested
  class Defaults {
    @Test
    void generatesARandomVersion4Id() {
      Event a = Event.of("X");
      Event b = Event.of("X");
      assertThat(a.id().version()).isEqualTo(4);
      assertThat(a.id().variant()).isEqualTo(2);
      assertThat(b.id()).isNotEqualTo(a.id());
    }

    @Test
    void generatesAUtcTimestampWithMicrosecondPrecision() {
      Instant before = Instant.now().minusMillis(1);
      Event event = Event.of("X");
      Instant after = Instant.now().plusMillis(1);
      assertThat(event.timestamp()).isBetween(before, after);
      assertThat(event.timestamp().getNano() % 1000).isZero();
    }

    @Test
    void cutsAGivenTimestampToMicroseconds() {
      Instant t = Instant.parse("2026-11-27T03:27:58.123456789Z");
      Event event = new Event(null, t, "X", null, null);
      assertThat(event.timestamp()).isEqualTo(Instant.parse("2026-11-27T03:27:58.123456Z"));
    }

    @Test
    void rejectsTimestampsPythonCannotRepresent() {
      // Python's datetime holds years 1 to 9999; beyond, the JSON would not read back.
      for (String t : List.of("+10000-01-01T00:00:00Z", "0000-12-31T23:59:59.999999Z",
          "-0001-01-01T00:00:00Z")) {
        EventValidationException e =
            invalid(() -> new Event(null, Instant.parse(t), "X", null, null));
        assertThat(e.field()).isEqualTo("timestamp");
        assertThat(e.reason()).contains("9999");
      }
      assertThat(invalid(() -> new Event(null, Instant.MAX, "X", null, null)).field())
          .isEqualTo("timestamp");
      for (String t : List.of("0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999Z")) {
        Event event = new Event(null, Instant.parse(t), "X", null, null);
        assertThat(Event.fromJson(event.toJson())).isEqualTo(event);
      }
    }

    @Test
    void nullPayloadAndMetadataAreEmpty() {
      Event event = new Event(null, null, "X", null, null);
      assertThat(event.payload()).isEmpty();
      assertThat(event.metadata()).isEmpty();
      assertThat(event.correlationId()).isEmpty();
      assertThat(event.causationId()).isEmpty();
      assertThat(event.depth()).isZero();
    }

    @Test
    void keepsAGivenVersion4Id() {
      UUID id = UUID.fromString("f40eacfe-49d5-4a4b-b67b-ff28863c6eab");
      assertThat(new Event(id, null, "X", null, null).id()).isEqualTo(id);
    }
  }

  @Nested
  class Ids {
    @Test
    void rejectsANonVersion4Id() {
      UUID v3 = UUID.fromString("6fa459ea-ee8a-3ca4-894e-db77e160355e");
      EventValidationException e = invalid(() -> new Event(v3, null, "X", null, null));
      assertThat(e.field()).isEqualTo("id");
      assertThat(e.getMessage()).contains("version-4").contains("version 3");
    }

    @Test
    void rejectsAVersion4IdWithTheWrongVariant() {
      // Version nibble 4, but variant bits 11x (Microsoft) instead of 10x (RFC 4122).
      UUID wrongVariant = UUID.fromString("f40eacfe-49d5-4a4b-c67b-ff28863c6eab");
      assertThat(invalid(() -> new Event(wrongVariant, null, "X", null, null)).field())
          .isEqualTo("id");
    }

    @Test
    void acceptsUppercaseIdsInJsonAndNormalizesThem() {
      Event event =
          Event.fromJson(
              "{\"id\": \"F40EACFE-49D5-4A4B-B67B-FF28863C6EAB\", \"event_type\": \"X\"}");
      assertThat(event.id().toString()).isEqualTo("f40eacfe-49d5-4a4b-b67b-ff28863c6eab");
      assertThat(event.toJson()).contains("\"id\":\"f40eacfe-49d5-4a4b-b67b-ff28863c6eab\"");
    }

    @ParameterizedTest
    @ValueSource(
        strings = {
          // Non-ASCII digits that Character.digit would take for hex digits.
          "f40eacfe-49d5-4a4b-b67b-ff28863c6ea\uff10",
          "\u0664\u0660eacfe-49d5-4a4b-b67b-ff28863c6eab",
          "f40eacfe-49d5-4a4b-b67b-ff28863c6ea\uff46",
          "not-a-uuid",
          "",
          "f40eacfe-49d5-4a4b-b67b-ff28863c6ea",
          "f40eacfe-49d5-4a4b-b67b-ff28863c6eabb",
          "f40eacfe+49d5-4a4b-b67b-ff28863c6eab",
          "g40eacfe-49d5-4a4b-b67b-ff28863c6eab",
          "6fa459ea-ee8a-3ca4-894e-db77e160355e"
        })
    void rejectsBadIdsInJson(String id) {
      EventValidationException e =
          invalid(() -> Event.fromJson("{\"id\": \"" + id + "\", \"event_type\": \"X\"}"));
      assertThat(e.field()).isEqualTo("id");
    }
  }

  @Nested
  class EventTypes {
    @Test
    void isStoredTrimmed() {
      assertThat(Event.of("  GREET \t\n").eventType()).isEqualTo("GREET");
      assertThat(Event.fromJson("{\"event_type\": \"  PADDED  \"}").eventType())
          .isEqualTo("PADDED");
    }

    @ParameterizedTest
    @ValueSource(strings = {"", " ", "   ", "\t\n", "\u2003"})
    void mustNotBeBlank(String type) {
      EventValidationException e = invalid(() -> Event.of(type));
      assertThat(e.field()).isEqualTo("event_type");
      assertThat(e.reason()).contains("blank");
    }

    @Test
    void isRequired() {
      EventValidationException e = invalid(() -> Event.of((String) null));
      assertThat(e.field()).isEqualTo("event_type");
      assertThat(e.getMessage()).contains("event_type").contains("required");
    }
  }

  @Nested
  class PayloadCopies {
    @Test
    void mutatingTheSourceAfterCreationDoesNotChangeTheEvent() {
      List<Object> tags = new ArrayList<>(List.of("a", "b"));
      Map<String, Object> inner = new HashMap<>(Map.of("k", 1));
      Map<String, Object> source = new LinkedHashMap<>();
      source.put("tags", tags);
      source.put("inner", inner);
      source.put("name", "x");

      Event event = Event.of("X", source);
      tags.add("c");
      inner.put("k", 2);
      inner.put("new", true);
      source.put("name", "changed");
      source.remove("tags");

      assertThat(event.payload())
          .containsExactly(
              Map.entry("tags", List.of("a", "b")),
              Map.entry("inner", Map.of("k", 1)),
              Map.entry("name", "x"));
    }

    @Test
    void everyLevelIsUnmodifiable() {
      Map<String, Object> source = new HashMap<>();
      source.put("list", new ArrayList<>(List.of(1, new HashMap<>(Map.of("deep", "v")))));
      source.put("map", new HashMap<>(Map.of("a", new ArrayList<>(List.of("z")))));
      Event event = Event.of("X", source);
      Map<String, Object> payload = event.payload();

      assertUnmodifiableMap(payload);
      @SuppressWarnings("unchecked")
      List<Object> list = (List<Object>) payload.get("list");
      assertUnmodifiableList(list);
      @SuppressWarnings("unchecked")
      Map<String, Object> deep = (Map<String, Object>) list.get(1);
      assertUnmodifiableMap(deep);
      @SuppressWarnings("unchecked")
      Map<String, Object> map = (Map<String, Object>) payload.get("map");
      assertUnmodifiableMap(map);
      @SuppressWarnings("unchecked")
      List<Object> innerList = (List<Object>) map.get("a");
      assertUnmodifiableList(innerList);

      assertThat(event.payload()).isEqualTo(source);
    }

    @Test
    void metadataIsCopiedAndUnmodifiable() {
      Map<String, String> source = new HashMap<>(Map.of("k", "v"));
      Event event = new Event(null, null, "X", null, source);
      source.put("k", "changed");
      assertThat(event.metadata()).containsExactly(Map.entry("k", "v"));
      assertThatThrownBy(() -> event.metadata().put("x", "y"))
          .isInstanceOf(UnsupportedOperationException.class);
      Event more = event.withMetadata("a", "b");
      assertThat(more.metadata()).containsOnly(Map.entry("k", "v"), Map.entry("a", "b"));
      assertThat(event.metadata()).containsOnly(Map.entry("k", "v"));
      assertThat(more.id()).isEqualTo(event.id());
    }

    @Test
    void metadataRejectsNullValuesAndBlankKeys() {
      Map<String, String> nullValue = new HashMap<>();
      nullValue.put("k", null);
      assertThat(invalid(() -> new Event(null, null, "X", null, nullValue)).field())
          .isEqualTo("metadata.k");
      assertThat(invalid(() -> new Event(null, null, "X", null, Map.of(" ", "v"))).field())
          .isEqualTo("metadata");
    }

    private void assertUnmodifiableMap(Map<String, Object> map) {
      Map<String, Object> before = new LinkedHashMap<>(map);
      String someKey = map.keySet().iterator().next();
      assertThatThrownBy(() -> map.put("new", 1)).isInstanceOf(UnsupportedOperationException.class);
      assertThatThrownBy(() -> map.put(someKey, 1))
          .isInstanceOf(UnsupportedOperationException.class);
      assertThatThrownBy(() -> map.remove(someKey))
          .isInstanceOf(UnsupportedOperationException.class);
      assertThatThrownBy(map::clear).isInstanceOf(UnsupportedOperationException.class);
      assertThatThrownBy(() -> map.putAll(Map.of("n", 2)))
          .isInstanceOf(UnsupportedOperationException.class);
      assertThatThrownBy(() -> map.entrySet().iterator().next().setValue("x"))
          .isInstanceOf(UnsupportedOperationException.class);
      assertThatThrownBy(() -> map.keySet().remove(someKey))
          .isInstanceOf(UnsupportedOperationException.class);
      assertThatThrownBy(() -> map.values().clear())
          .isInstanceOf(UnsupportedOperationException.class);
      assertThatThrownBy(() -> map.replaceAll((k, v) -> v))
          .isInstanceOf(UnsupportedOperationException.class);
      assertThat(map).isEqualTo(before);
    }

    private void assertUnmodifiableList(List<Object> list) {
      List<Object> before = new ArrayList<>(list);
      assertThatThrownBy(() -> list.add("x")).isInstanceOf(UnsupportedOperationException.class);
      assertThatThrownBy(() -> list.set(0, "x")).isInstanceOf(UnsupportedOperationException.class);
      assertThatThrownBy(() -> list.remove(0)).isInstanceOf(UnsupportedOperationException.class);
      assertThatThrownBy(list::clear).isInstanceOf(UnsupportedOperationException.class);
      assertThatThrownBy(() -> list.subList(0, 1).set(0, "x"))
          .isInstanceOf(UnsupportedOperationException.class);
      assertThatThrownBy(() -> list.listIterator().add("x"))
          .isInstanceOf(UnsupportedOperationException.class);
      assertThat(list).isEqualTo(before);
    }
  }

  @Nested
  class PayloadValues {
    @Test
    void acceptsEveryJsonShapedValue() {
      Map<String, Object> source = new LinkedHashMap<>();
      source.put("null", null);
      source.put("bool", true);
      source.put("int", 1);
      source.put("long", 1L << 40);
      source.put("big", new BigInteger("123456789012345678901234567890"));
      source.put("double", 1.5);
      source.put("decimal", new BigDecimal("1.25"));
      source.put("string", "s");
      source.put("list", Arrays.asList(1, null, "x"));
      source.put("map", Map.of("k", List.of()));
      Event event = Event.of("X", source);
      assertThat(event.payload()).containsOnlyKeys(source.keySet());
      assertThat(event.payload().get("null")).isNull();
      assertThat(event.payload().get("big"))
          .isEqualTo(new BigInteger("123456789012345678901234567890"));
    }

    @Test
    void normalizesNumbersSoARoundTripIsEqual() {
      Map<String, Object> source = new LinkedHashMap<>();
      source.put("small_long", 7L);
      source.put("short", (short) 3);
      source.put("byte", (byte) 2);
      source.put("float", 1.5f);
      source.put("small_big", BigInteger.valueOf(42));
      source.put("long_big", BigInteger.valueOf(Long.MAX_VALUE));
      Map<String, Object> payload = Event.of("X", source).payload();
      assertThat(payload.get("small_long")).isEqualTo(7);
      assertThat(payload.get("short")).isEqualTo(3);
      assertThat(payload.get("byte")).isEqualTo(2);
      assertThat(payload.get("float")).isEqualTo(1.5d);
      assertThat(payload.get("small_big")).isEqualTo(42);
      assertThat(payload.get("long_big")).isEqualTo(Long.MAX_VALUE);
    }

    @Test
    void rejectsDecimalsBeyondTheRangeOfADouble() {
      // Written as 1E+400, which JSON readers (Python, and fromJson) take for infinity.
      EventValidationException e =
          invalid(() -> Event.of("X", Map.of("d", List.of(new BigDecimal("1e400")))));
      assertThat(e.field()).isEqualTo("payload.d[0]");
      assertThat(invalid(() -> Event.of("X", Map.of("d", new BigDecimal("-1e400")))).field())
          .isEqualTo("payload.d");
      Event fine = Event.of("X", Map.of("d", new BigDecimal("1e300")));
      assertThat(Event.fromJson(fine.toJson()).payload().get("d")).isEqualTo(1e300);
    }

    @Test
    void rejectsAnUnsupportedTypeNamingItsPath() {
      Map<String, Object> item0 = Map.of("sku", "a");
      Map<String, Object> item1 = Map.of("sku", "b", "when", LocalDate.of(2026, 11, 27));
      Map<String, Object> source = Map.of("items", List.of(item0, item1));
      EventValidationException e = invalid(() -> Event.of("X", source));
      assertThat(e.field()).isEqualTo("payload.items[1].when");
      assertThat(e.getMessage())
          .contains("payload.items[1].when")
          .contains("java.time.LocalDate");
    }

    @Test
    void rejectsMutableNumbersAndArrays() {
      // An AtomicInteger is a Number, but copying it by reference would leak mutability.
      Object counter = new java.util.concurrent.atomic.AtomicInteger();
      assertThat(invalid(() -> Event.of("X", Map.of("n", counter))).field())
          .isEqualTo("payload.n");
      assertThat(invalid(() -> Event.of("X", Map.of("a", new int[] {1}))).field())
          .isEqualTo("payload.a");
      assertThat(invalid(() -> Event.of("X", Map.of("c", 'c'))).field()).isEqualTo("payload.c");
    }

    @Test
    void rejectsAnUnsupportedTopLevelValue() {
      EventValidationException e = invalid(() -> Event.of("X", Map.of("d", Duration.ZERO)));
      assertThat(e.field()).isEqualTo("payload.d");
    }

    @Test
    void rejectsNonStringKeys() {
      Map<Object, Object> inner = new HashMap<>();
      inner.put(1, "one");
      @SuppressWarnings({"unchecked", "rawtypes"})
      Map<String, Object> source = (Map) Map.of("m", inner);
      EventValidationException e = invalid(() -> Event.of("X", source));
      assertThat(e.field()).isEqualTo("payload.m");
      assertThat(e.reason()).contains("keys must be strings");
    }

    @Test
    void rejectsNaNAndInfinityNamingThePath() {
      assertThat(invalid(() -> Event.of("X", Map.of("n", Double.NaN))).field())
          .isEqualTo("payload.n");
      assertThat(invalid(() -> Event.of("X", Map.of("l", List.of(1.0, Float.NaN)))).field())
          .isEqualTo("payload.l[1]");
      assertThat(
              invalid(() -> Event.of("X", Map.of("i", Double.POSITIVE_INFINITY))).getMessage())
          .contains("payload.i")
          .contains("finite");
    }

    @Test
    void unpairedSurrogatesRoundTripInValuesButAreRefusedInKeys() {
      Event event = Event.of("X", Map.of("k", List.of("a\uD800b", "\uDC00", "x\uD800")));
      assertThat(Event.fromJson(event.toJson())).isEqualTo(event);
      EventValidationException e =
          invalid(() -> Event.of("X", Map.of("m", Map.of("a\uD800b", 1))));
      assertThat(e.field()).isEqualTo("payload.m");
      assertThat(e.reason()).contains("surrogate");
      assertThat(invalid(() -> Event.of("X", Map.of("\uDC00", 1))).field()).isEqualTo("payload");
      // A proper pair is fine in a key.
      Event emoji = Event.of("X", Map.of("\uD83D\uDC7B", 1));
      assertThat(Event.fromJson(emoji.toJson())).isEqualTo(emoji);
    }

    @Test
    void rejectsAMapCycle() {
      Map<String, Object> cyclic = new HashMap<>();
      cyclic.put("self", cyclic);
      EventValidationException e = invalid(() -> Event.of("X", cyclic));
      assertThat(e.field()).startsWith("payload.self.self");
      assertThat(e.reason()).contains("cycle");
    }

    @Test
    void rejectsAListCycle() {
      List<Object> cyclic = new ArrayList<>();
      cyclic.add(cyclic);
      EventValidationException e = invalid(() -> Event.of("X", Map.of("l", cyclic)));
      assertThat(e.field()).startsWith("payload.l[0][0]");
    }

    @Test
    void acceptsSharedButAcyclicValues() {
      Map<String, Object> shared = Map.of("v", 1);
      Event event = Event.of("X", Map.of("a", shared, "b", List.of(shared, shared)));
      assertThat(event.payload().get("a")).isEqualTo(shared);
    }

    @Test
    void acceptsNestingUpToTheDepthLimitAndTheJsonReadsBack() {
      Map<String, Object> deep = nest(Payloads.MAX_DEPTH);
      Event event = Event.of("X", deep);
      assertThat(Event.fromJson(event.toJson())).isEqualTo(event);
      assertThat(invalid(() -> Event.of("X", nest(Payloads.MAX_DEPTH + 1))).reason())
          .contains("nested deeper");
    }

    private Map<String, Object> nest(int levels) {
      Map<String, Object> m = new HashMap<>();
      for (int i = 0; i < levels; i++) {
        m = Map.of("n", m);
      }
      return m;
    }
  }

  @Nested
  class PayloadSize {
    // Built from characters of every UTF-8 width and from escapes, so a check that counted
    // chars, or ignored escapes, would be off.
    private static final String UNIT = "aé☃🕯\n\"\\\u0001"; // 1+2+3+4+2+2+2+6 = 22 bytes
    private static final int UNIT_BYTES = 22;
    /** {"s":"..."} around the string. */
    private static final int OVERHEAD = "{\"s\":\"\"}".length();

    /** A payload whose serialized size is exactly {@code bytes}. */
    private Map<String, Object> payloadOf(int bytes) {
      int content = bytes - OVERHEAD;
      StringBuilder sb = new StringBuilder();
      int units = content / UNIT_BYTES;
      sb.append(UNIT.repeat(units));
      sb.append("x".repeat(content - units * UNIT_BYTES));
      return Map.of("s", sb.toString());
    }

    private int serializedPayloadSize(Event event) {
      String json = event.toJson();
      String payload = json.substring(json.indexOf("\"payload\":") + "\"payload\":".length(),
          json.length() - 1);
      return payload.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
    }

    @Test
    void theTestPayloadHasTheSizeItClaims() {
      assertThat(serializedPayloadSize(Event.of("X", payloadOf(1000)))).isEqualTo(1000);
      assertThat(serializedPayloadSize(Event.of("X", payloadOf(12_345)))).isEqualTo(12_345);
    }

    @Test
    void exactlyTheLimitPasses() {
      Event event = Event.of("X", payloadOf(Event.MAX_PAYLOAD_BYTES));
      assertThat(serializedPayloadSize(event)).isEqualTo(Event.MAX_PAYLOAD_BYTES);
      assertThat(Event.fromJson(event.toJson())).isEqualTo(event);
    }

    @Test
    void oneByteOverFailsNamingThePayloadAndTheSize() {
      EventValidationException e =
          invalid(() -> Event.of("X", payloadOf(Event.MAX_PAYLOAD_BYTES + 1)));
      assertThat(e.field()).isEqualTo("payload");
      assertThat(e.reason()).contains("1000001").contains("1000000");
    }

    @Test
    void oneByteOverInJsonFails() {
      String underJson = Event.of("X", payloadOf(Event.MAX_PAYLOAD_BYTES)).toJson();
      // One more plain char in the string: one byte more.
      String overJson = underJson.replace("\"s\":\"", "\"s\":\"y");
      EventValidationException e = invalid(() -> Event.fromJson(overJson));
      assertThat(e.field()).isEqualTo("payload");
      assertThat(Event.fromJson(underJson).payload()).containsOnlyKeys("s");
    }

    @Test
    void manySmallValuesAreCountedExactly() {
      // Structure, not one big string: keys, commas, numbers and nested lists.
      Map<String, Object> payload = new LinkedHashMap<>();
      int size = 2; // {}
      int i = 0;
      while (true) {
        String key = "k" + i;
        List<Object> value = List.of(i, "é", true);
        String entry = "\"" + key + "\":[" + i + ",\"é\",true]";
        int entryBytes = entry.getBytes(java.nio.charset.StandardCharsets.UTF_8).length
            + (payload.isEmpty() ? 0 : 1);
        if (size + entryBytes > Event.MAX_PAYLOAD_BYTES) {
          break;
        }
        payload.put(key, value);
        size += entryBytes;
        i++;
      }
      int missing = Event.MAX_PAYLOAD_BYTES - size;
      // Pad the last value up to exactly the limit with a string of the missing bytes.
      assertThat(missing).isGreaterThanOrEqualTo(0);
      Map<String, Object> exact = new LinkedHashMap<>(payload);
      if (missing >= 7) { // ,"p":""
        exact.put("p", "z".repeat(missing - 7));
        Event atLimit = Event.of("X", exact);
        assertThat(serializedPayloadSize(atLimit)).isEqualTo(Event.MAX_PAYLOAD_BYTES);
        exact.put("p", "z".repeat(missing - 6));
        assertThat(invalid(() -> Event.of("X", exact)).field()).isEqualTo("payload");
      } else {
        exact.put("k0", List.of(0, "é", true, "z".repeat(100)));
        assertThat(invalid(() -> Event.of("X", exact)).field()).isEqualTo("payload");
      }
    }
  }

  /** The bounds that keep every event, and whatever reads or writes one, of a known size. */
  @Nested
  class Limits {
    private Map<String, String> metadataOf(int keys) {
      Map<String, String> metadata = new HashMap<>();
      for (int i = 0; i < keys; i++) {
        metadata.put("k" + i, "v");
      }
      return metadata;
    }

    @Test
    void tenThousandMetadataKeysAreRefusedNamingTheLimit() {
      EventValidationException e =
          invalid(() -> new Event(null, null, "X", null, metadataOf(10_000)));
      assertThat(e.field()).isEqualTo("metadata");
      assertThat(e.reason()).isEqualTo("has 10000 keys, over the limit of 1000");
      Event atLimit = new Event(null, null, "X", null, metadataOf(Event.MAX_METADATA_KEYS));
      assertThat(atLimit.metadata()).hasSize(1_000);
      EventValidationException more = invalid(() -> atLimit.withMetadata("one", "more"));
      assertThat(more.reason()).contains("1001 keys");
    }

    @Test
    void metadataBytesAreCountedInUtf8KeysAndValuesTogether() {
      String key = "k";
      String fits = "x".repeat(Event.MAX_METADATA_BYTES - key.length());
      assertThat(new Event(null, null, "X", null, Map.of(key, fits)).metadata()).hasSize(1);
      EventValidationException e =
          invalid(() -> new Event(null, null, "X", null, Map.of(key, fits + "x")));
      assertThat(e.field()).isEqualTo("metadata");
      assertThat(e.reason()).isEqualTo(
          "is 65537 UTF-8 bytes (keys and values), over the limit of 65536");
      // 'é' is two bytes: 32,768 of them are 65,536 bytes, with the key's one byte over.
      String accents = "é".repeat(Event.MAX_METADATA_BYTES / 2);
      assertThat(invalid(() -> new Event(null, null, "X", null, Map.of(key, accents))).reason())
          .contains("65537 UTF-8 bytes");
    }

    @Test
    void theSpinesOwnMetadataIsBoundedToo() {
      UUID cause = UUID.randomUUID();
      StampedMetadata usual = new StampedMetadata("corr", cause, 1);
      assertThat(new Event(null, null, "X", null, usual).metadata()).isSameAs(usual);
      StampedMetadata huge =
          new StampedMetadata("c".repeat(Event.MAX_METADATA_BYTES), cause, 1);
      assertThat(invalid(() -> new Event(null, null, "X", null, huge)).field())
          .isEqualTo("metadata");
    }

    @Test
    void eventTypesAreAtMost256Characters() {
      String longest = "T".repeat(Event.MAX_EVENT_TYPE_LENGTH);
      assertThat(Event.of(longest).eventType()).isEqualTo(longest);
      assertThat(Event.of("  " + longest + "  ").eventType()).isEqualTo(longest);
      EventValidationException e = invalid(() -> Event.of(longest + "T"));
      assertThat(e.field()).isEqualTo("event_type");
      assertThat(e.reason()).isEqualTo("is 257 characters, over the limit of 256");
      String json = "{\"event_type\": \"" + longest + "T\"}";
      assertThat(invalid(() -> Event.fromJson(json)).field()).isEqualTo("event_type");
    }

    @Test
    void jsonOverTheLimitIsRefusedBeforeItIsParsed() {
      // Unterminated: a parser would call it malformed; the length check answers first.
      String huge = "{\"event_type\":\"X\",\"payload\":{\"s\":\"" + "x".repeat(20_000_000);
      EventValidationException e = invalid(() -> Event.fromJson(huge));
      assertThat(e.field()).isEqualTo("json");
      assertThat(e.reason())
          .isEqualTo("is " + huge.length() + " characters, over the limit of 1048576 bytes");
      byte[] bytes = huge.getBytes(java.nio.charset.StandardCharsets.UTF_8);
      assertThat(invalid(() -> Event.fromJson(bytes)).reason())
          .isEqualTo("is " + bytes.length + " bytes, over the limit of 1048576 bytes");
    }

    @Test
    void hostileShapesWithinTheLengthLimitAreRefusedByTheParsersBounds() {
      String deep = "[".repeat(200_000) + "]".repeat(200_000);
      assertThat(invalid(() -> Event.fromJson(
          "{\"event_type\":\"X\",\"payload\":{\"a\":" + deep + "}}")).reason())
          .isEqualTo("nested deeper than 500 levels");
      String digits = "9".repeat(500_000);
      EventValidationException number = invalid(() -> Event.fromJson(
          "{\"event_type\":\"X\",\"payload\":{\"n\":" + digits + "}}"));
      assertThat(number.field()).isEqualTo("json");
      assertThat(number.reason()).contains("Number value length").contains("1000");
      String string = "s".repeat(Event.MAX_JSON_BYTES - 100);
      EventValidationException longString = invalid(() -> Event.fromJson(
          "{\"event_type\":\"X\",\"payload\":{\"s\":\"" + string + "\"}}"));
      assertThat(longString.reason()).contains("1000000");
    }
  }

  @Nested
  class Json {
    @Test
    void metadataNeverEntersTheJson() {
      Event event =
          Event.of("X", Map.of("a", 1))
              .withMetadata(
                  Map.of(Event.CORRELATION_ID, "corr-123", Event.CAUSATION_ID, "cause-456"));
      String json = event.toJson();
      assertThat(json)
          .doesNotContain("corr-123")
          .doesNotContain("cause-456")
          .doesNotContain("metadata")
          .doesNotContain("correlation");
      Event back = Event.fromJson(json);
      assertThat(back.metadata()).isEmpty();
      assertThat(back)
          .isEqualTo(new Event(event.id(), event.timestamp(), "X", event.payload(), null));
    }
  }
}
