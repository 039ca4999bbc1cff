package io.necrostack.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.math.BigInteger;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;

/** Property-based JSON round trips: any valid event reads back equal from its JSON. */
class EventJsonProperties {

  @Property(tries = 400)
  void anyEventRoundTripsThroughJson(@ForAll("events") Event event) {
    String json = event.toJson();
    Event back = Event.fromJson(json);
    assertThat(back).isEqualTo(withoutMetadata(event));
    // Writing is deterministic: the copy writes the same JSON.
    assertThat(back.toJson()).isEqualTo(json);
    assertThat(Event.fromJson(event.toJsonBytes())).isEqualTo(back);
  }

  @Property(tries = 400)
  void aPayloadIsEqualToItsSourceAfterARoundTrip(@ForAll("payloads") Map<String, Object> payload) {
    Event event = Event.of("P", payload);
    // The generated values are already in canonical form, so the frozen copy equals them...
    assertThat(event.payload()).isEqualTo(payload);
    // ...and so does the payload read back from JSON.
    assertThat(Event.fromJson(event.toJson()).payload()).isEqualTo(payload);
  }

  @Property(tries = 200)
  void metadataNeverReachesTheJson(
      @ForAll("events") Event event, @ForAll("markers") String marker) {
    Event tagged = event.withMetadata(Map.of(Event.CORRELATION_ID, marker, "x_" + marker, marker));
    assertThat(tagged.toJson()).isEqualTo(event.toJson());
  }

  /**
   * The cheap size check is sound: the bound kept while copying (or reading) a payload is never
   * below its exact serialized size, so no payload over the limit can skip the exact check.
   */
  @Property(tries = 400)
  void theSizeBoundIsNeverBelowTheExactSize(@ForAll("payloads") Map<String, Object> payload) {
    Event event = Event.of("P", payload);
    long exact = EventJson.payloadSize(event.payload());
    assertThat(((Payloads.FrozenMap) event.payload()).bound).isGreaterThanOrEqualTo(exact);
    Event read = Event.fromJson(event.toJson());
    assertThat(((Payloads.FrozenMap) read.payload()).bound).isGreaterThanOrEqualTo(exact);
    String json = event.toJson();
    String payloadJson = json.substring(json.indexOf("\"payload\":") + 10, json.length() - 1);
    assertThat(payloadJson.getBytes(java.nio.charset.StandardCharsets.UTF_8).length)
        .isEqualTo(exact);
  }

  private static Event withoutMetadata(Event e) {
    return new Event(e.id(), e.timestamp(), e.eventType(), e.payload(), null);
  }

  @Provide
  Arbitrary<String> markers() {
    return Arbitraries.strings().alpha().ofMinLength(12).ofMaxLength(20);
  }

  @Provide
  Arbitrary<Event> events() {
    return Combinators.combine(ids(), timestamps(), eventTypes(), payloads(), metadata())
        .as(Event::new);
  }

  @Provide
  Arbitrary<Map<String, Object>> payloads() {
    return map(3);
  }

  private Arbitrary<UUID> ids() {
    return Combinators.combine(Arbitraries.longs(), Arbitraries.longs())
        .as(
            (msb, lsb) ->
                new UUID(
                    (msb & 0xffffffffffff0fffL) | 0x0000000000004000L,
                    (lsb & 0x3fffffffffffffffL) | 0x8000000000000000L));
  }

  private Arbitrary<Instant> timestamps() {
    long min = Instant.parse("0001-01-01T00:00:00Z").getEpochSecond();
    long max = Instant.parse("9999-12-31T23:59:59Z").getEpochSecond();
    Arbitrary<Long> seconds =
        Arbitraries.longs().between(min, max)
            .edgeCases(c -> c.add(0L).add(1_764_214_078L));
    Arbitrary<Integer> micros =
        Arbitraries.frequencyOf(
            Tuple.of(1, Arbitraries.just(0)),
            Tuple.of(4, Arbitraries.integers().between(0, 999_999)));
    return Combinators.combine(seconds, micros)
        .as((s, us) -> Instant.ofEpochSecond(s, us * 1000L));
  }

  private Arbitrary<String> eventTypes() {
    Arbitrary<String> core =
        Arbitraries.strings().withCharRange('A', 'Z').withChars('_', '.', 'é', '☃')
            .ofMinLength(1).ofMaxLength(20);
    Arbitrary<String> pad = Arbitraries.of("", " ", "  ", "\t");
    // Stored trimmed, so the JSON holds the trimmed type and reads back equal.
    return Combinators.combine(pad, core, pad).as((a, b, c) -> a + b + c);
  }

  private Arbitrary<Map<String, String>> metadata() {
    return Arbitraries.maps(
            Arbitraries.strings().alpha().ofMinLength(1).ofMaxLength(8),
            Arbitraries.strings().ofMaxLength(8))
        .ofMaxSize(3);
  }

  private Arbitrary<String> strings() {
    Arbitrary<String> anyChars = Arbitraries.strings().all().ofMaxLength(12);
    Arbitrary<String> tricky =
        Arbitraries.strings()
            .withChars('"', '\\', '/', '\b', '\f', '\n', '\r', '\t', '\u0000', '\u001f', '\u007f',
                '\u2028', '\u2029', 'é', '—', '☃', '\ufeff')
            .withCharRange('a', 'c')
            .ofMaxLength(12);
    Arbitrary<String> emoji =
        Arbitraries.of("🕯️", "👻", "S\u00e9ance \ud83d\udd6f\ufe0f", "𝄞", "").list().ofMaxSize(4)
            .map(parts -> String.join("", parts));
    return Arbitraries.oneOf(anyChars, tricky, emoji);
  }

  /** Keys are valid Unicode (an unpaired surrogate in a key is refused, see EventTest). */
  private Arbitrary<String> keys() {
    return strings().filter(s -> s.codePoints().noneMatch(
        cp -> cp >= Character.MIN_SURROGATE && cp <= Character.MAX_SURROGATE));
  }

  private Arbitrary<Object> leaf() {
    Arbitrary<Object> ints = Arbitraries.integers().map(i -> i);
    Arbitrary<Object> longs =
        Arbitraries.oneOf(
                Arbitraries.longs().greaterOrEqual(1L + Integer.MAX_VALUE),
                Arbitraries.longs().lessOrEqual(-1L + Integer.MIN_VALUE))
            .map(l -> l);
    BigInteger beyondLong = BigInteger.valueOf(Long.MAX_VALUE).add(BigInteger.ONE);
    BigInteger huge = BigInteger.TWO.pow(300);
    Arbitrary<Object> bigs =
        Arbitraries.oneOf(
                Arbitraries.bigIntegers().between(beyondLong, huge),
                Arbitraries.bigIntegers().between(huge.negate(), beyondLong.negate().subtract(
                    BigInteger.ONE)))
            .map(b -> b);
    Arbitrary<Object> doubles =
        Arbitraries.doubles()
            .withSpecialValue(-0.0)
            .withSpecialValue(1e-9)
            .withSpecialValue(Double.MIN_VALUE)
            .withSpecialValue(Double.MAX_VALUE)
            .withSpecialValue(3.0)
            .map(d -> d);
    Arbitrary<Object> booleans = Arbitraries.of(true, false).map(b -> b);
    Arbitrary<Object> strings = strings().map(s -> s);
    return Arbitraries.oneOf(ints, longs, bigs, doubles, booleans, strings).injectNull(0.1);
  }

  private Arbitrary<Object> value(int depth) {
    if (depth == 0) {
      return leaf();
    }
    return Arbitraries.frequencyOf(
        Tuple.of(5, leaf()),
        Tuple.of(1, list(depth - 1)),
        Tuple.of(1, map(depth - 1).map(m -> m)));
  }

  private Arbitrary<Object> list(int depth) {
    return Arbitraries.lazy(() -> value(depth)).list().ofMaxSize(4).map(l -> l);
  }

  private Arbitrary<Map<String, Object>> map(int depth) {
    return Arbitraries.maps(keys(), Arbitraries.lazy(() -> value(depth))).ofMaxSize(5);
  }
}
