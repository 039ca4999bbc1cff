package io.necrostack.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.necrostack.property.ForAll;
import io.necrostack.property.Gen;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * Property-based JSON round trips: any valid event reads back equal from its JSON, and any
 * value an event refuses is refused with a clear error instead of being written in a form that
 * does not read back.
 */
class EventJsonProperties {

  @Test
  void anyEventRoundTripsThroughJson() {
    ForAll.check(400, events(), event -> {
      String json = event.toJson();
      Event back = Event.fromJson(json);
      assertThat(back).isEqualTo(withoutMetadata(event));
      // Writing is deterministic: the copy writes the same JSON.
      assertThat(back.toJson()).isEqualTo(json);
      assertThat(Event.fromJson(event.toJsonBytes())).isEqualTo(back);
    });
  }

  @Test
  void aPayloadIsEqualToItsSourceAfterARoundTrip() {
    ForAll.check(400, payloads(), payload -> {
      Event event = Event.of("P", payload);
      // The generated values are already in canonical form, so the frozen copy equals them...
      assertThat(event.payload()).isEqualTo(payload);
      // ...and so does the payload read back from JSON.
      assertThat(Event.fromJson(event.toJson()).payload()).isEqualTo(payload);
    });
  }

  @Test
  void metadataNeverReachesTheJson() {
    Gen<String> markers = s -> Gen.strings(alpha(), 12).generate(s) + "markerMARKER";
    ForAll.check(200, s -> new Tagged(events().generate(s), markers.generate(s)), t -> {
      Event tagged = t.event().withMetadata(
          Map.of(Event.CORRELATION_ID, t.marker(), "x_" + t.marker(), t.marker()));
      assertThat(tagged.toJson()).isEqualTo(t.event().toJson());
    });
  }

  /**
   * The cheap size check is sound: the bound kept while copying (or reading) a payload is never
   * below its exact serialized size, so no payload over the limit can skip the exact check.
   */
  @Test
  void theSizeBoundIsNeverBelowTheExactSize() {
    ForAll.check(400, payloads(), payload -> {
      Event event = Event.of("P", payload);
      long exact = EventJson.payloadSize(event.payload());
      assertThat(((Payloads.FrozenMap) event.payload()).bound).isGreaterThanOrEqualTo(exact);
      Event read = Event.fromJson(event.toJson());
      assertThat(((Payloads.FrozenMap) read.payload()).bound).isGreaterThanOrEqualTo(exact);
      String json = event.toJson();
      String payloadJson = json.substring(json.indexOf("\"payload\":") + 10, json.length() - 1);
      assertThat(payloadJson.getBytes(StandardCharsets.UTF_8).length).isEqualTo(exact);
    });
  }

  /**
   * Any string as a key either reads back or is refused, naming the key's path: a key Jackson
   * would write but refuse to read (an unpaired surrogate) must not make an unreadable event.
   */
  @Test
  void anyKeyReadsBackOrIsRefusedWhenTheEventIsMade() {
    ForAll.check(600, strings(), key -> {
      EventValidationException refused =
          catchThrowableOfType(EventValidationException.class, () -> Event.of("P", Map.of(key, 1)));
      if (refused == null) {
        Event event = Event.of("P", Map.of(key, 1));
        assertThat(Event.fromJson(event.toJson()).payload()).containsOnlyKeys(key);
      } else {
        assertThat(refused.field()).isEqualTo("payload");
        assertThat(refused.reason()).contains("surrogate");
      }
    });
  }

  /**
   * Any decimal number either reads back as the double nearest to it or is refused as out of
   * range, both in a payload built in Java and in JSON read from outside: a number beyond a
   * double (1E+400) is never written, nor read as infinity.
   */
  @Test
  void anyDecimalReadsBackOrIsRefusedAsOutOfRange() {
    ForAll.check(600, decimals(), number -> {
      EventValidationException refused = catchThrowableOfType(
          EventValidationException.class, () -> Event.of("P", Map.of("n", number)));
      boolean finite = Double.isFinite(number.doubleValue());
      if (refused == null) {
        Object back = Event.fromJson(Event.of("P", Map.of("n", number)).toJson()).payload().get("n");
        assertThat(finite).as("accepted %s", number).isTrue();
        assertThat(((Number) back).doubleValue()).isEqualTo(number.doubleValue());
      } else {
        assertThat(finite).as("refused %s", number).isFalse();
        assertThat(refused.reason()).contains("finite");
      }
      String json = "{\"event_type\":\"P\",\"payload\":{\"n\":" + number + "}}";
      EventValidationException unread =
          catchThrowableOfType(EventValidationException.class, () -> Event.fromJson(json));
      if (unread == null) {
        Event read = Event.fromJson(json);
        assertThat(finite).as("read %s", number).isTrue();
        assertThat(((Number) read.payload().get("n")).doubleValue())
            .isEqualTo(number.doubleValue());
        assertThat(Event.fromJson(read.toJson())).isEqualTo(read);
      } else {
        assertThat(finite).as("refused to read %s", number).isFalse();
        assertThat(unread.field()).isEqualTo("payload");
      }
    });
  }

  private record Tagged(Event event, String marker) {}

  private static Event withoutMetadata(Event e) {
    return new Event(e.id(), e.timestamp(), e.eventType(), e.payload(), null);
  }

  static Gen<Event> events() {
    Gen<Long> bits = Gen.anyLong();
    return s -> new Event(
        new UUID(
            (bits.generate(s) & 0xffffffffffff0fffL) | 0x0000000000004000L,
            (bits.generate(s) & 0x3fffffffffffffffL) | 0x8000000000000000L),
        timestamps().generate(s),
        eventTypes().generate(s),
        payloads().generate(s),
        metadata().generate(s));
  }

  static Gen<Map<String, Object>> payloads() {
    return map(3);
  }

  private static Gen<Instant> timestamps() {
    long min = Instant.parse("0001-01-01T00:00:00Z").getEpochSecond();
    long max = Instant.parse("9999-12-31T23:59:59Z").getEpochSecond();
    Gen<Long> seconds = Gen.frequency(1, Gen.of(0L, 1_764_214_078L), 7, Gen.longs(min, max));
    Gen<Integer> micros = Gen.frequency(1, Gen.constant(0), 4, Gen.ints(0, 999_999));
    return s -> Instant.ofEpochSecond(seconds.generate(s), micros.generate(s) * 1000L);
  }

  private static Gen<String> eventTypes() {
    Gen<Character> chars =
        Gen.frequency(6, Gen.charRange('A', 'Z'), 1, Gen.of('_', '.', 'é', '☃'));
    Gen<String> core = Gen.strings(chars, 19).map(c -> "E" + c);
    Gen<String> pad = Gen.of("", " ", "  ", "\t");
    // Stored trimmed, so the JSON holds the trimmed type and reads back equal.
    return s -> pad.generate(s) + core.generate(s) + pad.generate(s);
  }

  private static Gen<Map<String, String>> metadata() {
    Gen<String> keys = Gen.strings(alpha(), 7).map(k -> "k" + k);
    return Gen.maps(keys, Gen.strings(Gen.anyChar(), 8), 3);
  }

  private static Gen<Character> alpha() {
    return Gen.frequency(1, Gen.charRange('a', 'z'), 1, Gen.charRange('A', 'Z'));
  }

  private static Gen<String> strings() {
    Gen<String> anyChars = Gen.strings(Gen.anyChar(), 12);
    Gen<String> tricky = Gen.strings(
        Gen.frequency(
            1, Gen.charRange('a', 'c'),
            3, Gen.of('"', '\\', '/', '\b', '\f', '\n', '\r', '\t', '\u0000', '\u001f', '\u007f',
                '\u2028', '\u2029', 'é', '—', '☃', '\ufeff', '\ud83d', '\udd6f')),
        12);
    Gen<String> emoji = Gen.of("🕯️", "👻", "S\u00e9ance \ud83d\udd6f\ufe0f", "𝄞", "").list(4)
        .map(parts -> String.join("", parts));
    return Gen.oneOf(anyChars, tricky, emoji);
  }

  /** Keys are valid Unicode (an unpaired surrogate in a key is refused, see above). */
  private static Gen<String> keys() {
    return strings().filter(s -> s.codePoints().noneMatch(
        cp -> cp >= Character.MIN_SURROGATE && cp <= Character.MAX_SURROGATE));
  }

  private static Gen<Object> leaf() {
    Gen<Object> ints = Gen.ints(Integer.MIN_VALUE, Integer.MAX_VALUE).map(i -> i);
    Gen<Object> longs = Gen.oneOf(
            Gen.longs(1L + Integer.MAX_VALUE, Long.MAX_VALUE),
            Gen.longs(Long.MIN_VALUE, -1L + Integer.MIN_VALUE))
        .map(l -> l);
    BigInteger beyondLong = BigInteger.valueOf(Long.MAX_VALUE).add(BigInteger.ONE);
    BigInteger huge = BigInteger.TWO.pow(300);
    Gen<Object> bigs = Gen.oneOf(
            Gen.bigIntegers(beyondLong, huge),
            Gen.bigIntegers(huge.negate(), beyondLong.negate().subtract(BigInteger.ONE)))
        .map(b -> b);
    Gen<Object> doubles =
        Gen.doubles(-0.0, 1e-9, Double.MIN_VALUE, Double.MAX_VALUE, 3.0).map(d -> d);
    Gen<Object> booleans = Gen.booleans().map(b -> b);
    Gen<Object> strings = strings().map(s -> s);
    return Gen.oneOf(ints, longs, bigs, doubles, booleans, strings).orNullOneIn(10);
  }

  private static Gen<Object> value(int depth) {
    if (depth == 0) {
      return leaf();
    }
    return Gen.frequency(5, leaf(), 1, list(depth - 1), 1, map(depth - 1).map(m -> m));
  }

  private static Gen<Object> list(int depth) {
    return Gen.lazy(() -> value(depth)).list(4).map(l -> l);
  }

  private static Gen<Map<String, Object>> map(int depth) {
    return Gen.maps(keys(), Gen.lazy(() -> value(depth)), 5);
  }

  /**
   * Decimals from a mantissa of up to 30 digits and an exponent of up to ±999, so both the
   * ordinary and the out-of-range (1E+400, 1E-400) numbers come up.
   */
  private static Gen<BigDecimal> decimals() {
    Gen<BigInteger> mantissa = Gen.bigIntegers(
        BigInteger.TEN.pow(30).negate(), BigInteger.TEN.pow(30));
    Gen<Integer> scale = Gen.ints(-999, 999);
    return s -> new BigDecimal(mantissa.generate(s), scale.generate(s));
  }
}
