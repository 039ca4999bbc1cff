package io.necrostack.apps.etl;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A row left out of the aggregates, and why.
 *
 * @param row the row number, 1 for the first row after the header
 * @param line the line of the file the row starts on, 1 for the header
 * @param reason why it was rejected
 */
public record Rejection(long row, long line, String reason) {

  /** The rejection as it travels in an event payload. */
  static Map<String, Object> of(long row, long line, String reason) {
    Map<String, Object> map = new LinkedHashMap<>(4);
    map.put("row", row);
    map.put("line", line);
    map.put("reason", reason);
    return map;
  }

  /** Reads a rejection from an event payload. */
  static Rejection from(Map<?, ?> map) {
    return new Rejection(
        ((Number) map.get("row")).longValue(),
        ((Number) map.get("line")).longValue(),
        String.valueOf(map.get("reason")));
  }

  @Override
  public String toString() {
    return "row " + row + " (line " + line + "): " + reason;
  }
}
