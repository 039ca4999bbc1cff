package io.necrostack.core;

import java.util.AbstractMap;
import java.util.AbstractSet;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.Set;
import java.util.UUID;

/**
 * The metadata the Spine stamps on an emitted event that carried none of its own: correlation
 * id, causation id and depth, as an unmodifiable map.
 *
 * <p>Why not {@code Map.of}: this map is built for every emitted event, and the next handling
 * reads two of its keys back. {@code Map.of} hashes and probes (with a division) on every
 * build and lookup, and the depth would be formatted here and parsed there. This map answers
 * the three keys with a comparison and keeps the cause's id as a UUID and the depth as an
 * int, formatting them only if someone reads them as text (a durable backend writing the
 * metadata does; the in-memory chain never does). It is equal to, and hashes like, any map with the same pairs.
 *
 * <p>Only the Spine creates it, with non-null values, so {@link Event} accepts it without a
 * copy. Safe to share between threads: the lazily formatted texts are immutable Strings, so
 * a race at worst formats one twice.
 */
final class StampedMetadata extends AbstractMap<String, String> {
  /** The inherited correlation id, or null when it is the causation id (a chain's 2nd event). */
  private final String correlationId;
  private final UUID causation;
  private final int depth;
  private String causationText;
  private String depthText;
  private Set<Entry<String, String>> entries;

  /**
   * Metadata of an event emitted while handling the event {@code causation}.
   *
   * @param correlationId the cause's correlation id, or null if the cause had none (the
   *     correlation id is then the causation id)
   * @param causation the cause's id, formatted only when read: in memory it often never is
   * @param depth the cause's depth plus one
   */
  StampedMetadata(String correlationId, UUID causation, int depth) {
    this.correlationId = correlationId;
    this.causation = causation;
    this.depth = depth;
  }

  private String causationId() {
    String text = causationText;
    if (text == null) {
      text = causation.toString();
      causationText = text;
    }
    return text;
  }

  private String correlationId() {
    return correlationId != null ? correlationId : causationId();
  }

  /** The length in characters of the inherited correlation id, the only value of any length. */
  int inheritedLength() {
    return correlationId == null ? 0 : correlationId.length();
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
      return correlationId();
    }
    if (key == Event.CAUSATION_ID) {
      return causationId();
    }
    if (key == Event.DEPTH) {
      return depthText();
    }
    if (Event.CORRELATION_ID.equals(key)) {
      return correlationId();
    }
    if (Event.CAUSATION_ID.equals(key)) {
      return causationId();
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
                  return new SimpleImmutableEntry<>(Event.CORRELATION_ID, correlationId());
                case 1:
                  return new SimpleImmutableEntry<>(Event.CAUSATION_ID, causationId());
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
