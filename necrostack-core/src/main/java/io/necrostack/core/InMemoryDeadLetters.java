package io.necrostack.core;

import io.necrostack.backend.Backend;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Dead letters kept in memory, bounded: past the capacity the oldest is dropped, logged (one
 * WARN line naming the dropped event) and counted ({@link #dropped()}).
 *
 * <p>Thread-safe.
 */
public final class InMemoryDeadLetters implements DeadLetters {
  /** The default capacity: 10,000 dead letters. */
  public static final int DEFAULT_CAPACITY = 10_000;

  private static final Logger log = LoggerFactory.getLogger(InMemoryDeadLetters.class);

  private final int capacity;
  private final ArrayDeque<DeadLetter> letters = new ArrayDeque<>();
  private long dropped;

  /** A store of the default capacity. */
  public InMemoryDeadLetters() {
    this(DEFAULT_CAPACITY);
  }

  /**
   * A store holding at most {@code capacity} dead letters.
   *
   * @param capacity at least 1
   */
  public InMemoryDeadLetters(int capacity) {
    if (capacity < 1) {
      throw new IllegalArgumentException("capacity must be at least 1, got " + capacity);
    }
    this.capacity = capacity;
  }

  @Override
  public void add(DeadLetter letter) {
    DeadLetter evicted = null;
    long droppedSoFar;
    synchronized (this) {
      if (letters.size() >= capacity) {
        evicted = letters.pollFirst();
        dropped++;
      }
      letters.addLast(letter);
      droppedSoFar = dropped;
    }
    if (evicted != null) {
      log.atWarn()
          .addKeyValue("event_id", evicted.event().id())
          .addKeyValue("event_type", evicted.event().eventType())
          .addKeyValue("reason", evicted.reason())
          .addKeyValue("capacity", capacity)
          .addKeyValue("dropped", droppedSoFar)
          .log("dead-letter store full: the oldest dead letter was dropped");
    }
  }

  @Override
  public synchronized List<DeadLetter> list() {
    return List.copyOf(letters);
  }

  @Override
  public synchronized long count() {
    return letters.size();
  }

  /** How many dead letters were dropped because the store was full. */
  public synchronized long dropped() {
    return dropped;
  }

  /**
   * {@inheritDoc}
   *
   * <p>Events are enqueued one at a time; if the backend refuses one, it and the later ones
   * stay in this store and the backend's exception propagates.
   */
  @Override
  public synchronized int replay(Backend backend, Predicate<String> eventTypes) {
    List<DeadLetter> all = new ArrayList<>(letters);
    List<DeadLetter> kept = new ArrayList<>();
    int replayed = 0;
    try {
      for (int i = 0; i < all.size(); i++) {
        DeadLetter letter = all.get(i);
        if (!eventTypes.test(letter.event().eventType())) {
          kept.add(letter);
          continue;
        }
        try {
          backend.enqueue(letter.event());
          replayed++;
        } catch (RuntimeException e) {
          kept.addAll(all.subList(i, all.size())); // the refused one and the rest stay
          throw e;
        }
      }
    } finally {
      letters.clear();
      letters.addAll(kept);
    }
    return replayed;
  }

  @Override
  public synchronized long purge() {
    long n = letters.size();
    letters.clear();
    return n;
  }
}
