package io.necrostack.apps.cli;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.LoggingEvent;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.slf4j.LoggerFactory;
import org.slf4j.event.KeyValuePair;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

@Timeout(value = 10, unit = TimeUnit.SECONDS)
class JsonLineEncoderTest {
  private final JsonLineEncoder encoder = new JsonLineEncoder();
  private final Logger logger = (Logger) LoggerFactory.getLogger("io.necrostack.test");

  @Test
  void writesOneJsonObjectPerLineWithTheStandardFieldsAndThePairs() {
    UUID id = UUID.randomUUID();
    LoggingEvent event =
        new LoggingEvent(Logger.FQCN, logger, Level.WARN, "handler {} failed", null,
            new Object[] {"Oracle"});
    event.setInstant(Instant.parse("2026-01-02T03:04:05.123456Z"));
    event.addKeyValuePair(new KeyValuePair("event_id", id));
    event.addKeyValuePair(new KeyValuePair("emitted", 3));
    event.addKeyValuePair(new KeyValuePair("ok", false));
    event.addKeyValuePair(new KeyValuePair("level", "not the level"));

    String line = new String(encoder.encode(event), StandardCharsets.UTF_8);

    assertThat(line).endsWith("}\n").doesNotContain("\n{").hasLineCount(1);
    JsonNode json = JsonMapper.builder().build().readTree(line);
    assertThat(json.get("timestamp").asString()).isEqualTo("2026-01-02T03:04:05.123456Z");
    assertThat(json.get("level").asString()).isEqualTo("WARN");
    assertThat(json.get("logger").asString()).isEqualTo("io.necrostack.test");
    assertThat(json.get("message").asString()).isEqualTo("handler Oracle failed");
    assertThat(json.get("event_id").asString()).isEqualTo(id.toString());
    assertThat(json.get("emitted").isNumber()).isTrue();
    assertThat(json.get("emitted").asInt()).isEqualTo(3);
    assertThat(json.get("ok").isBoolean()).isTrue();
    assertThat(json.get("kv_level").asString()).isEqualTo("not the level");
    assertThat(json.has("stack_trace")).isFalse();
  }

  @Test
  void anExceptionBecomesAStackTraceFieldOnTheSameLine() {
    LoggingEvent event =
        new LoggingEvent(Logger.FQCN, logger, Level.ERROR, "boom", new IllegalStateException(
            "the candle went out"), null);

    String line = new String(encoder.encode(event), StandardCharsets.UTF_8);

    assertThat(line).hasLineCount(1);
    JsonNode json = JsonMapper.builder().build().readTree(line);
    assertThat(json.get("stack_trace").asString())
        .startsWith("java.lang.IllegalStateException: the candle went out")
        .contains("JsonLineEncoderTest");
  }

  @Test
  void nonAsciiMessagesAreUtf8() {
    LoggingEvent event =
        new LoggingEvent(Logger.FQCN, logger, Level.INFO, "séance 部", null, null);

    String line = new String(encoder.encode(event), StandardCharsets.UTF_8);

    assertThat(JsonMapper.builder().build().readTree(line).get("message").asString())
        .isEqualTo("séance 部");
  }
}
