package io.necrostack.backend;

import io.necrostack.core.DeadLetters;

/**
 * An optional backend ability: a store of its own for dead letters (the Redis backend's
 * dead-letter stream). A Spine on such a backend dead-letters into it by default, so the
 * events it gives up on sit beside the backend's own dead letters (malformed entries, entries
 * past their max deliveries) and are listed and replayed with the same tools.
 */
public interface DeadLetterStore {

  /** The backend's dead-letter store. */
  DeadLetters deadLetters();
}
