package io.necrostack.core;

import java.util.AbstractMap;
import java.util.AbstractSet;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.Set;

/**
 * The metadata the Spine stamps on an emitted event that carried none of its own: correlation
 * id, causation id and depth, as an unmodifiable map.
 *
 * <p>Why not {@code Map.of}: this map is built for every emitted event, and the next handling
 * reads two of its keys back. {@code Map.of} hashes and probes (with a division) on every
 * build and lookup, and the depth would be formatted here and parsed there. This map answers
 * the three keys with a comparison and keeps the depth as an int, formatting it only if
 * someone reads it as text. It is equal to, and hashes like, any map with the same pairs.
 *
 * <p>Only the Spine creates it, with non-null values, so {@link Event} accepts it without a
 * copy. Safe to share between threads: the lazily formatted depth is an immutable String, so
 * a race at worst formats it twice.
 */
final class StampedMetadata extends AbstractMap<String, String> {
  private final String correlationId;
  private final String causationId;
  private final int depth;
  private String depthText;
  private Set<Entry<String, String>> entries;

  StampedMetadata(String correlationId, String causationId, int depth) {
    this.correlationId = correlationId;
    this.causationId = causationId;
    this.depth = depth;
  }

  /** The depth, without parsing it back from text. */
  int depth() {
    return depth;
  }

  private String depthText() {
    String text = depthText;
    if (text == null) {
      text = Integer.toString(depth);
      depthText = text;
    }
    return text;
  }

  @Override
  public String get(Object key) {
    // The constants are usually passed as such: identity first, then equals.
    if (key == Event.CORRELATION_ID) {
      return correlationId;
    }
    if (key == Event.CAUSATION_ID) {
      return causationId;
    }
    if (key == Event.DEPTH) {
      return depthText();
    }
    if (Event.CORRELATION_ID.equals(key)) {
      return correlationId;
    }
    if (Event.CAUSATION_ID.equals(key)) {
      return causationId;
    }
    if (Event.DEPTH.equals(key)) {
      return depthText();
    }
    return null;
  }

  @Override
  public String getOrDefault(Object key, String defaultValue) {
    String value = get(key);
    return value == null ? defaultValue : value;
  }

  @Override
  public boolean containsKey(Object key) {
    return get(key) != null;
  }

  @Override
  public int size() {
    return 3;
  }

  @Override
  public boolean isEmpty() {
    return false;
  }

  @Override
  public Set<Entry<String, String>> entrySet() {
    Set<Entry<String, String>> e = entries;
    if (e == null) {
      e = new AbstractSet<>() {
        @Override
        public Iterator<Entry<String, String>> iterator() {
          return new Iterator<>() {
            private int next;

            @Override
            public boolean hasNext() {
              return next < 3;
            }

            @Override
            public Entry<String, String> next() {
              switch (next++) {
                case 0:
                  return new SimpleImmutableEntry<>(Event.CORRELATION_ID, correlationId);
                case 1:
                  return new SimpleImmutableEntry<>(Event.CAUSATION_ID, causationId);
                case 2:
                  return new SimpleImmutableEntry<>(Event.DEPTH, depthText());
                default:
                  next = 3;
                  throw new NoSuchElementException();
              }
            }
          };
        }

        @Override
        public int size() {
          return 3;
        }
      };
      entries = e;
    }
    return e;
  }
}
