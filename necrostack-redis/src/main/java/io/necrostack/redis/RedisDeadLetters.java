package io.necrostack.redis;

import io.lettuce.core.Limit;
import io.lettuce.core.Range;
import io.lettuce.core.StreamMessage;
import io.lettuce.core.api.sync.RedisCommands;
import io.necrostack.backend.BackendException;
import io.necrostack.core.Event;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Predicate;

/**
 * Operator tools for a backend's dead-letter stream: list, count, replay, purge.
 *
 * <p>Obtained from {@link RedisBackend#deadLetters()}; uses that backend's connection and is
 * thread-safe. Replay writes the dead-lettered events back to the main stream (each with its
 * metadata) and removes their dead letters; a dead letter whose {@code event} is not a valid
 * event (a malformed entry) is never replayed.
 */
public final class RedisDeadLetters {
  private final RedisBackend backend;
  private final RedisConnections redis;
  private final RedisBackendConfig config;

  RedisDeadLetters(RedisBackend backend, RedisConnections redis, RedisBackendConfig config) {
    this.backend = backend;
    this.redis = redis;
    this.config = config;
  }

  /** The number of dead letters. */
  public long count() {
    backend.checkOpen();
    try {
      return redis.sync().xlen(config.deadLetterStream());
    } catch (RuntimeException e) {
      throw failure("cannot count dead letters", e);
    }
  }

  /**
   * The oldest dead letters, with their reasons.
   *
   * @param limit at most this many, at least 1
   */
  public List<DeadLetter> list(int limit) {
    if (limit < 1) {
      throw new IllegalArgumentException("limit must be at least 1, got " + limit);
    }
    backend.checkOpen();
    try {
      List<StreamMessage<String, String>> messages =
          redis.sync().xrange(config.deadLetterStream(), Range.create("-", "+"),
              Limit.from(limit));
      List<DeadLetter> out = new ArrayList<>(messages.size());
      for (StreamMessage<String, String> m : messages) {
        out.add(toDeadLetter(m));
      }
      return out;
    } catch (RuntimeException e) {
      throw failure("cannot list dead letters", e);
    }
  }

  /** Replays every replayable dead letter; see {@link #replay(Predicate)}. */
  public int replay() {
    return replay(event -> true);
  }

  /** Replays the dead letters of one event type; see {@link #replay(Predicate)}. */
  public int replayType(String eventType) {
    Objects.requireNonNull(eventType, "eventType == null");
    String type = eventType.strip();
    return replay(event -> event.eventType().equals(type));
  }

  /**
   * Writes the dead-lettered events that match back to the main stream, with their metadata,
   * and deletes their dead letters. Each is written before its dead letter is deleted, so a
   * failure midway may leave an event both replayed and still dead-lettered, never lost.
   *
   * @return how many events were replayed
   */
  public int replay(Predicate<Event> filter) {
    Objects.requireNonNull(filter, "filter == null");
    backend.checkOpen();
    RedisCommands<String, String> sync = redis.sync();
    int replayed = 0;
    String start = "-";
    try {
      while (true) {
        List<StreamMessage<String, String>> page =
            sync.xrange(config.deadLetterStream(), Range.create(start, "+"), Limit.from(256));
        if (page.isEmpty()) {
          return replayed;
        }
        List<Event> events = new ArrayList<>();
        List<String> ids = new ArrayList<>();
        for (StreamMessage<String, String> m : page) {
          DeadLetter letter = toDeadLetter(m);
          letter.event().filter(filter).ifPresent(event -> {
            events.add(event);
            ids.add(letter.id());
          });
        }
        if (!events.isEmpty()) {
          backend.enqueueAll(events);
          sync.xdel(config.deadLetterStream(), ids.toArray(new String[0]));
          replayed += events.size();
        }
        start = RedisBackend.nextId(page.get(page.size() - 1).getId());
      }
    } catch (BackendException e) {
      throw e;
    } catch (RuntimeException e) {
      throw failure("cannot replay dead letters (" + replayed + " replayed so far)", e);
    }
  }

  /**
   * Deletes every dead letter.
   *
   * @return how many were deleted
   */
  public long purge() {
    backend.checkOpen();
    try {
      RedisCommands<String, String> sync = redis.sync();
      long count = sync.xlen(config.deadLetterStream());
      sync.del(config.deadLetterStream());
      return count;
    } catch (RuntimeException e) {
      throw failure("cannot purge dead letters", e);
    }
  }

  private static DeadLetter toDeadLetter(StreamMessage<String, String> m) {
    Map<String, String> f = m.getBody();
    return new DeadLetter(m.getId(),
        f.getOrDefault(WireFormat.ORIGINAL_ID, ""),
        f.getOrDefault(WireFormat.EVENT, ""),
        f.getOrDefault(WireFormat.REASON, ""),
        f.getOrDefault(WireFormat.FAILED_AT, ""),
        f);
  }

  private BackendException failure(String what, RuntimeException e) {
    return new BackendException(what + " in '" + config.deadLetterStream() + "' at "
        + config.redactedUrl() + ": " + RedisConnections.describe(e), e);
  }
}
