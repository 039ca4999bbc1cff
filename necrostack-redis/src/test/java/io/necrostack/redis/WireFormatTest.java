package io.necrostack.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.necrostack.core.Event;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The entry layout, without a server. */
@Timeout(value = 10, unit = TimeUnit.SECONDS)
class WireFormatTest {

  @Test
  void metadataRoundTripsWhateverItsKeys() throws Exception {
    Event event = Event.of("X", Map.of("a", 1)).withMetadata(Map.of(
        Event.CORRELATION_ID, "c", Event.DEPTH, "3", "meta.nested", "m", "event", "e",
        "reason", "r"));

    Map<String, String> fields = WireFormat.fields(event);

    assertThat(fields).containsOnlyKeys("event", "correlation_id", "depth", "meta.meta.nested",
        "meta.event", "meta.reason");
    assertThat(fields.get("event")).isEqualTo(event.toJson());
    assertThat(WireFormat.decode(fields)).isEqualTo(event);
  }

  @Test
  void unknownFieldsAreIgnoredAndBlankMetaKeysSkipped() throws Exception {
    Event event = Event.of("X");
    Map<String, String> fields = new LinkedHashMap<>();
    fields.put("event", event.toJson());
    fields.put("something_else", "1");
    fields.put("meta.", "blank");
    fields.put("meta. ", "blank");

    assertThat(WireFormat.decode(fields)).isEqualTo(event);
  }

  @Test
  void malformedEntriesNameTheProblem() {
    assertThatThrownBy(() -> WireFormat.decode(Map.of("x", "1")))
        .hasMessage("malformed entry: no 'event' field (fields: [x])");
    assertThatThrownBy(() -> WireFormat.decode(Map.of("event", "[1]")))
        .hasMessageStartingWith("malformed entry: ");
  }

  @Test
  void failedAtLooksLikePythonIsoformat() {
    assertThat(WireFormat.failedAt(Instant.parse("2026-11-27T03:27:58.131089Z")))
        .isEqualTo("2026-11-27T03:27:58.131089+00:00");
    assertThat(WireFormat.failedAt(Instant.parse("2026-11-27T03:27:58Z")))
        .isEqualTo("2026-11-27T03:27:58.000000+00:00");
  }

  @Test
  void streamIdsCompareNumerically() {
    assertThat(RedisBackend.compareIds("9-0", "10-0")).isNegative();
    assertThat(RedisBackend.compareIds("10-2", "10-10")).isNegative();
    assertThat(RedisBackend.compareIds("10-10", "10-10")).isZero();
    assertThat(RedisBackend.compareIds("11-0", "10-99")).isPositive();
  }
}
