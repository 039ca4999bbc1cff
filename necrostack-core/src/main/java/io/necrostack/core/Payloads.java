package io.necrostack.core;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.AbstractList;
import java.util.AbstractMap;
import java.util.ArrayDeque;
import java.util.Collection;
import java.util.Collections;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Deep-copies payloads into unmodifiable JSON-shaped structures and bounds their size.
 *
 * <p>Numbers are normalized so that a JSON round trip gives back an equal payload: integral
 * values become the smallest of Integer, Long or BigInteger that holds them, Float becomes
 * Double. BigDecimal is kept as given (it is read back as Double, Python's float).
 */
final class Payloads {
  /** The largest serialized payload, in UTF-8 bytes. */
  static final int MAX_PAYLOAD_BYTES = 1_000_000;

  /** Deeper nesting is refused: it is almost always a cycle, and it would overflow the stack. */
  static final int MAX_DEPTH = 500;

  static final FrozenMap EMPTY = new FrozenMap(new LinkedHashMap<>(), 2);

  private Payloads() {}

  /**
   * Freezes a payload map, validating every value and the serialized size.
   *
   * <p>The size check is cheap: while copying we add up an upper bound of the serialized size
   * (every char counted as a six-byte escape). Only when that bound passes the limit is the
   * payload serialized to measure it exactly, so ordinary events are never serialized here.
   */
  static Map<String, Object> freeze(Map<String, ?> payload) {
    if (payload == null) {
      return EMPTY;
    }
    if (payload instanceof FrozenMap frozen) {
      return frozen; // already validated and within the limit
    }
    long[] bound = {0};
    FrozenMap result;
    try {
      result = freezeMap(payload, bound, 0);
    } catch (BadValue bad) {
      throw new EventValidationException(bad.path(), bad.getMessage());
    }
    if (bound[0] > MAX_PAYLOAD_BYTES) {
      long exact = EventJson.payloadSize(result);
      if (exact > MAX_PAYLOAD_BYTES) {
        throw tooLarge(exact);
      }
    }
    return result;
  }

  static EventValidationException tooLarge(long bytes) {
    return new EventValidationException(
        "payload",
        "serialized size is " + bytes + " UTF-8 bytes, over the limit of " + MAX_PAYLOAD_BYTES);
  }

  /**
   * Wraps a map read from JSON, whose values are already JSON-shaped and frozen.
   *
   * @param bound an upper bound of its serialized size in bytes
   */
  static FrozenMap wrapParsed(LinkedHashMap<String, Object> parsed, long bound) {
    return new FrozenMap(parsed, bound);
  }

  /** Wraps a list read from JSON, as {@link #wrapParsed(LinkedHashMap, long)}. */
  static List<Object> wrapParsed(List<Object> parsed, long bound) {
    return new FrozenList(parsed.toArray(), bound);
  }

  private static FrozenMap freezeMap(Map<?, ?> map, long[] bound, int depth) {
    if (depth > MAX_DEPTH) {
      throw new BadValue("nested deeper than " + MAX_DEPTH + " levels (a cycle?)");
    }
    LinkedHashMap<String, Object> copy = new LinkedHashMap<>(Math.max(4, map.size() * 4 / 3 + 1));
    long start = bound[0];
    bound[0] += 2;
    for (Map.Entry<?, ?> entry : map.entrySet()) {
      Object key = entry.getKey();
      if (!(key instanceof String name)) {
        throw new BadValue("keys must be strings, got " + describe(key));
      }
      if (hasUnpairedSurrogate(name)) {
        // Written as an escape, but a reader that checks names (Jackson) refuses to read it back.
        throw new BadValue("key '" + name + "' holds an unpaired surrogate (not valid Unicode)");
      }
      bound[0] += 6L * name.length() + 4;
      try {
        copy.put(name, freezeValue(entry.getValue(), bound, depth + 1));
      } catch (BadValue bad) {
        throw bad.under("." + name);
      }
    }
    return new FrozenMap(copy, bound[0] - start);
  }

  private static Object freezeValue(Object value, long[] bound, int depth) {
    if (value == null) {
      bound[0] += 4;
      return null;
    }
    if (value instanceof String s) {
      bound[0] += 6L * s.length() + 2;
      return s;
    }
    if (value instanceof Boolean) {
      bound[0] += 5;
      return value;
    }
    if (value instanceof Number n) {
      return freezeNumber(n, bound);
    }
    if (value instanceof FrozenMap f) {
      bound[0] += f.bound;
      return value;
    }
    if (value instanceof FrozenList f) {
      bound[0] += f.bound;
      return value;
    }
    if (value instanceof Map<?, ?> m) {
      return freezeMap(m, bound, depth);
    }
    if (value instanceof Collection<?> c) {
      if (depth > MAX_DEPTH) {
        throw new BadValue("nested deeper than " + MAX_DEPTH + " levels (a cycle?)");
      }
      Object[] items = new Object[c.size()];
      int i = 0;
      long start = bound[0];
      bound[0] += 2;
      for (Object item : c) {
        try {
          items[i] = freezeValue(item, bound, depth + 1);
        } catch (BadValue bad) {
          throw bad.under("[" + i + "]");
        }
        bound[0] += 1;
        i++;
      }
      return new FrozenList(items, bound[0] - start);
    }
    throw new BadValue(
        "unsupported value type "
            + value.getClass().getName()
            + " (a payload holds null, boolean, number, string, list or map;"
            + " use Event.fromObject for records and POJOs)");
  }

  private static Object freezeNumber(Number n, long[] bound) {
    if (n instanceof Integer) {
      bound[0] += 11;
      return n;
    }
    if (n instanceof Long l) {
      bound[0] += 20;
      // Not a conditional expression: Integer and Long operands would both be promoted to long,
      // boxing a small value back into a Long, which reads back from JSON as an Integer.
      if (l == (int) (long) l) {
        return Integer.valueOf((int) (long) l);
      }
      return l;
    }
    if (n instanceof Short || n instanceof Byte) {
      bound[0] += 6;
      return n.intValue();
    }
    if (n instanceof Double || n instanceof Float) {
      double d = n.doubleValue();
      if (Double.isNaN(d) || Double.isInfinite(d)) {
        throw new BadValue("JSON has no " + d + "; numbers must be finite");
      }
      bound[0] += 26;
      return d;
    }
    if (n instanceof BigInteger b) {
      bound[0] += b.bitLength() / 3 + 2;
      if (b.bitLength() < 32) {
        return b.intValue();
      }
      return b.bitLength() < 64 ? (Object) b.longValue() : b;
    }
    if (n instanceof BigDecimal d) {
      if (Double.isInfinite(d.doubleValue())) {
        // Written as e.g. 1E+400, which JSON readers (Python's too) take for infinity.
        throw new BadValue("number " + d + " is beyond the range of a double; numbers must be"
            + " finite");
      }
      bound[0] += d.toString().length();
      return d;
    }
    throw new BadValue("unsupported number type " + n.getClass().getName());
  }

  private static boolean hasUnpairedSurrogate(String s) {
    for (int i = 0, n = s.length(); i < n; i++) {
      char c = s.charAt(i);
      if (Character.isHighSurrogate(c)) {
        if (i + 1 < n && Character.isLowSurrogate(s.charAt(i + 1))) {
          i++;
        } else {
          return true;
        }
      } else if (Character.isLowSurrogate(c)) {
        return true;
      }
    }
    return false;
  }

  private static String describe(Object key) {
    return key == null ? "null" : key.getClass().getName();
  }

  /** A bad value deep in a payload; collects its path while the stack unwinds. */
  private static final class BadValue extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final Deque<String> path = new ArrayDeque<>();

    BadValue(String reason) {
      super(reason, null, false, false);
    }

    BadValue under(String segment) {
      path.addFirst(segment);
      return this;
    }

    String path() {
      return "payload" + String.join("", path);
    }
  }

  /** An unmodifiable map that only this class creates, so it can be shared without copying. */
  static final class FrozenMap extends AbstractMap<String, Object> {
    private final Map<String, Object> map;
    /** An upper bound of the serialized size, in bytes. */
    final long bound;
    private Set<Entry<String, Object>> entries;

    FrozenMap(LinkedHashMap<String, Object> map, long bound) {
      this.map = map;
      this.bound = bound;
    }

    @Override
    public Set<Entry<String, Object>> entrySet() {
      Set<Entry<String, Object>> e = entries;
      if (e == null) {
        e = Collections.unmodifiableMap(map).entrySet();
        entries = e;
      }
      return e;
    }

    @Override
    public Object get(Object key) {
      return map.get(key);
    }

    @Override
    public boolean containsKey(Object key) {
      return map.containsKey(key);
    }

    @Override
    public int size() {
      return map.size();
    }
  }

  /** An unmodifiable list that only this class creates. */
  static final class FrozenList extends AbstractList<Object> implements java.util.RandomAccess {
    private final Object[] items;
    /** An upper bound of the serialized size, in bytes. */
    final long bound;

    FrozenList(Object[] items, long bound) {
      this.items = items;
      this.bound = bound;
    }

    @Override
    public Object get(int index) {
      return items[index];
    }

    @Override
    public int size() {
      return items.length;
    }
  }
}
