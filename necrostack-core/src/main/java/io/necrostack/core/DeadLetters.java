package io.necrostack.core;

import io.necrostack.backend.Backend;
import java.util.List;
import java.util.function.Predicate;

/**
 * Where the Spine keeps the events it gave up on, for inspection and replay.
 *
 * <p>Implementations are thread-safe. The default is {@link InMemoryDeadLetters}; durable
 * backends may provide their own (the Redis backend keeps a dead-letter stream).
 */
public interface DeadLetters {

  /** Stores a dead letter. Never throws for a full store: a bounded store drops the oldest. */
  void add(DeadLetter letter);

  /** The stored dead letters, oldest first. */
  List<DeadLetter> list();

  /** How many dead letters are stored. */
  long count();

  /**
   * Re-enqueues the stored events whose type matches into the backend, oldest first, and
   * removes them from this store. Metadata is kept.
   *
   * @return how many events were replayed
   */
  int replay(Backend backend, Predicate<String> eventTypes);

  /** Re-enqueues every stored event; see {@link #replay(Backend, Predicate)}. */
  default int replay(Backend backend) {
    return replay(backend, type -> true);
  }

  /**
   * Removes every stored dead letter.
   *
   * @return how many were removed
   */
  long purge();
}
