package io.necrostack.apps.cli;

import ch.qos.logback.classic.spi.ILoggingEvent;
import co.elastic.logging.JsonUtils;
import co.elastic.logging.logback.EcsEncoder;
import java.util.List;
import org.slf4j.event.KeyValuePair;

/**
 * The command line's log lines: Elastic Common Schema JSON, one object per line ({@link
 * EcsEncoder}: {@code @timestamp}, {@code log.level}, {@code log.logger}, {@code message},
 * {@code process.thread.name}, {@code error.*}, the MDC — where the tracing observer puts
 * {@code trace_id} and {@code span_id} during a handling — and {@code service.name}), plus
 * the SLF4J key-value pairs the libraries log with, which the ECS encoder leaves out.
 *
 * <p>The pairs go under the {@code necrostack.} namespace ({@code necrostack.event_id},
 * {@code necrostack.organ}, …), as ECS asks of custom fields: a pair named {@code error} or
 * {@code event} would otherwise clash with ECS's own objects of those names. Numbers and
 * booleans stay JSON numbers and booleans; any other value is written as its {@code
 * toString()}, so logging an arbitrary object can never fail the log call.
 *
 * <p>Public with a no-argument constructor because Logback creates it from {@code logback.xml}.
 */
public final class EcsLogEncoder extends EcsEncoder {
  /** The namespace of the key-value pairs. */
  static final String NAMESPACE = "necrostack.";

  /** Creates the encoder; Logback calls this. */
  public EcsLogEncoder() {}

  @Override
  protected void addCustomFields(ILoggingEvent event, StringBuilder builder) {
    List<KeyValuePair> pairs = event.getKeyValuePairs();
    if (pairs == null) {
      return;
    }
    for (KeyValuePair pair : pairs) {
      builder.append('"');
      JsonUtils.quoteAsString(NAMESPACE + pair.key, builder);
      builder.append("\":");
      Object value = pair.value;
      if (value == null) {
        builder.append("null");
      } else if (value instanceof Boolean || isFiniteNumber(value)) {
        builder.append(value);
      } else {
        builder.append('"');
        JsonUtils.quoteAsString(value.toString(), builder);
        builder.append('"');
      }
      builder.append(',');
    }
  }

  /** A number JSON can hold as written: integers, and finite doubles and floats. */
  private static boolean isFiniteNumber(Object value) {
    if (value instanceof Double d) {
      return Double.isFinite(d);
    }
    if (value instanceof Float f) {
      return Float.isFinite(f);
    }
    return value instanceof Integer || value instanceof Long || value instanceof Short
        || value instanceof Byte;
  }
}
