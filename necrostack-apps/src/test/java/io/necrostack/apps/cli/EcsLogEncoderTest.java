package io.necrostack.apps.cli;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.LoggingEvent;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.slf4j.LoggerFactory;
import org.slf4j.event.KeyValuePair;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** The log lines are ECS JSON with the MDC and the SLF4J key-value pairs, one per line. */
@Timeout(value = 10, unit = TimeUnit.SECONDS)
class EcsLogEncoderTest {
  private final EcsLogEncoder encoder = new EcsLogEncoder();
  private final Logger logger = (Logger) LoggerFactory.getLogger("io.necrostack.test");

  @BeforeEach
  void start() {
    encoder.setContext((LoggerContext) LoggerFactory.getILoggerFactory());
    encoder.setServiceName("necrostack");
    encoder.start();
  }

  @Test
  void writesOneEcsObjectPerLineWithTheMdcAndThePairs() {
    UUID id = UUID.randomUUID();
    LoggingEvent event =
        new LoggingEvent(Logger.FQCN, logger, Level.WARN, "handler {} failed", null,
            new Object[] {"Oracle"});
    event.setInstant(Instant.parse("2026-01-02T03:04:05.123Z"));
    event.setMDCPropertyMap(Map.of("trace_id", "4bf92f3577b34da6a3ce929d0e0e4736",
        "span_id", "00f067aa0ba902b7"));
    event.addKeyValuePair(new KeyValuePair("event_id", id));
    event.addKeyValuePair(new KeyValuePair("emitted", 3));
    event.addKeyValuePair(new KeyValuePair("ok", false));
    event.addKeyValuePair(new KeyValuePair("error", "java.io.IOException: \"quoted\"\nline"));
    event.addKeyValuePair(new KeyValuePair("ratio", Double.NaN));

    String line = new String(encoder.encode(event), StandardCharsets.UTF_8);

    assertThat(line).endsWith("}\n").hasLineCount(1);
    JsonNode json = JsonMapper.builder().build().readTree(line);
    assertThat(json.get("@timestamp").asString()).isEqualTo("2026-01-02T03:04:05.123Z");
    assertThat(json.get("log.level").asString()).isEqualTo("WARN");
    assertThat(json.get("log.logger").asString()).isEqualTo("io.necrostack.test");
    assertThat(json.get("message").asString()).isEqualTo("handler Oracle failed");
    assertThat(json.get("service.name").asString()).isEqualTo("necrostack");
    assertThat(json.has("ecs.version")).isTrue();
    assertThat(json.get("trace_id").asString()).isEqualTo("4bf92f3577b34da6a3ce929d0e0e4736");
    assertThat(json.get("span_id").asString()).isEqualTo("00f067aa0ba902b7");
    assertThat(json.get("necrostack.event_id").asString()).isEqualTo(id.toString());
    assertThat(json.get("necrostack.emitted").isNumber()).isTrue();
    assertThat(json.get("necrostack.emitted").asInt()).isEqualTo(3);
    assertThat(json.get("necrostack.ok").isBoolean()).isTrue();
    assertThat(json.get("necrostack.error").asString())
        .isEqualTo("java.io.IOException: \"quoted\"\nline");
    assertThat(json.get("necrostack.ratio").asString()).isEqualTo("NaN");
    assertThat(json.has("error.type")).as("no exception was logged").isFalse();
  }

  @Test
  void anExceptionBecomesEcsErrorFieldsOnTheSameLine() {
    LoggingEvent event =
        new LoggingEvent(Logger.FQCN, logger, Level.ERROR, "boom", new IllegalStateException(
            "the candle went out"), null);

    String line = new String(encoder.encode(event), StandardCharsets.UTF_8);

    assertThat(line).hasLineCount(1);
    JsonNode json = JsonMapper.builder().build().readTree(line);
    assertThat(json.get("error.type").asString()).isEqualTo("java.lang.IllegalStateException");
    assertThat(json.get("error.message").asString()).isEqualTo("the candle went out");
    assertThat(json.get("error.stack_trace").asString()).contains("EcsLogEncoderTest");
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
