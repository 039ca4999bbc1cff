package io.necrostack.apps.cli;

import io.necrostack.backend.Backend;
import io.necrostack.redis.RedisBackend;
import java.util.Objects;

/**
 * A backend opened for one run, with what must happen after it is closed (deleting a per-run
 * Redis stream).
 */
final class OpenedBackend implements AutoCloseable {
  private final Backend backend;
  private final String description;
  private final Runnable afterClose;

  /**
   * @param backend the backend
   * @param description for messages: "memory" or the redacted URL and the stream
   * @param afterClose run once the backend is closed
   */
  OpenedBackend(Backend backend, String description, Runnable afterClose) {
    this.backend = Objects.requireNonNull(backend, "backend == null");
    this.description = Objects.requireNonNull(description, "description == null");
    this.afterClose = Objects.requireNonNull(afterClose, "afterClose == null");
  }

  Backend backend() {
    return backend;
  }

  boolean isRedis() {
    return backend instanceof RedisBackend;
  }

  /**
   * Sends what the backend buffered: the Redis backend sends the acks of the last handlings
   * with its next pull, and a finished run pulls no more, so its figures (pending) would be
   * off by those while the metrics linger.
   */
  void flush() {
    if (backend instanceof RedisBackend redis) {
      redis.flush();
    }
  }

  /** "memory", or the Redis URL (password redacted) and the stream. */
  String description() {
    return description;
  }

  @Override
  public void close() {
    try {
      backend.close();
    } finally {
      afterClose.run();
    }
  }
}
