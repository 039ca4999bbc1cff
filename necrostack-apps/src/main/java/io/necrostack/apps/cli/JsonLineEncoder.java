package io.necrostack.apps.cli;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.encoder.EncoderBase;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.event.KeyValuePair;
import tools.jackson.databind.json.JsonMapper;

/**
 * A Logback encoder writing one JSON object per line, in UTF-8.
 *
 * <p>Fields: {@code timestamp} (ISO-8601 in UTC), {@code level}, {@code logger}, {@code
 * message}, {@code thread}, then the SLF4J key-value pairs as top-level fields, then {@code
 * stack_trace} when an exception was logged. A pair whose key collides with one of these
 * fields is written with a {@code kv_} prefix rather than overwrite it. Values that are
 * numbers or booleans stay JSON numbers and booleans; any other value is written as its
 * {@code toString()}, so logging an arbitrary object can never fail the log call.
 *
 * <p>Public with a no-argument constructor because Logback creates it from {@code logback.xml}.
 * Thread-safe: it keeps no state per event.
 */
public final class JsonLineEncoder extends EncoderBase<ILoggingEvent> {
  private static final JsonMapper MAPPER = JsonMapper.builder().build();
  private static final byte[] EMPTY = new byte[0];
  private static final Set<String> RESERVED =
      Set.of("timestamp", "level", "logger", "message", "thread", "stack_trace");

  /** Creates the encoder; Logback calls this. */
  public JsonLineEncoder() {}

  @Override
  public byte[] headerBytes() {
    return EMPTY;
  }

  @Override
  public byte[] encode(ILoggingEvent event) {
    Map<String, Object> line = new LinkedHashMap<>();
    line.put("timestamp", DateTimeFormatter.ISO_INSTANT.format(instant(event)));
    line.put("level", event.getLevel().toString());
    line.put("logger", event.getLoggerName());
    line.put("message", event.getFormattedMessage());
    line.put("thread", event.getThreadName());
    List<KeyValuePair> pairs = event.getKeyValuePairs();
    if (pairs != null) {
      for (KeyValuePair pair : pairs) {
        String key = String.valueOf(pair.key);
        line.put(RESERVED.contains(key) ? "kv_" + key : key, value(pair.value));
      }
    }
    IThrowableProxy thrown = event.getThrowableProxy();
    if (thrown != null) {
      line.put("stack_trace", ThrowableProxyUtil.asString(thrown));
    }
    String json = MAPPER.writeValueAsString(line);
    return (json + "\n").getBytes(StandardCharsets.UTF_8);
  }

  @Override
  public byte[] footerBytes() {
    return EMPTY;
  }

  private static Instant instant(ILoggingEvent event) {
    Instant instant = event.getInstant();
    return instant != null ? instant : Instant.ofEpochMilli(event.getTimeStamp());
  }

  private static Object value(Object value) {
    if (value == null || value instanceof Number || value instanceof Boolean) {
      return value;
    }
    return value.toString();
  }
}
