package io.necrostack.redis;

import io.lettuce.core.XAddArgs;
import io.lettuce.core.api.sync.RedisCommands;
import io.necrostack.backend.Backend;
import io.necrostack.backend.BackendException;
import io.necrostack.core.DeadLetters;
import io.necrostack.core.Event;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.LinkedHashMap;
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
 *
 * <p>As the Spine's {@link DeadLetters} store, {@link #add} writes the events the Spine gives
 * up on (a handler's DEAD_LETTER outcome, max depth, refused emissions) into the same stream,
 * with the Python original's fields ({@code original_id} is then the event's id, as there is
 * no stream entry) plus {@code organ}, {@code error_class}, {@code error_message}, {@code
 * attempts}, {@code first_failure} and the event's metadata fields.
 */
public final class RedisDeadLetters implements DeadLetters {
  private final RedisBackend backend;
  private final RedisConnections redis;
  private final RedisBackendConfig config;

  RedisDeadLetters(RedisBackend backend, RedisConnections redis, RedisBackendConfig config) {
    this.backend = backend;
    this.redis = redis;
    this.config = config;
  }

  /** The number of dead letters. */
  @Override
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
    List<DeadLetter> out = new ArrayList<>(Math.min(limit, PAGE));
    try {
      String start = "-";
      while (start != null && out.size() < limit) {
        Page page = page(start, Math.min(PAGE, limit - out.size()));
        out.addAll(page.letters());
        start = page.next();
      }
      return out;
    } catch (RuntimeException e) {
      throw failure("cannot list dead letters", e);
    }
  }

  private static final int PAGE = 256;

  /**
   * Dead letters from {@code start} on, read within the entry limits and the byte budget
   * ({@link RedisBackendConfig#maxReadBytes()}): anyone can write to this stream. One over the
   * limits is listed with the reason and no event, so it is never replayed.
   *
   * @param next the id to read on from, or null at the stream's end
   */
  private record Page(List<DeadLetter> letters, String next) {}

  private Page page(String start, int count) {
    List<BoundedEntryOutput.Entry> entries = backend.awaitReply(BoundedEntryOutput.range(
        redis.commands(), config.deadLetterStream(), start, "+", count, config.maxReadBytes()));
    List<DeadLetter> letters = new ArrayList<>(entries.size());
    for (BoundedEntryOutput.Entry e : entries) {
      switch (e.kind()) {
        case KEPT -> letters.add(toDeadLetter(e.id(), e.fields()));
        case OVERSIZE -> letters.add(new DeadLetter(e.id(), "", "",
            "dead letter over the read limits: " + e.bytes() + " bytes in " + e.fieldCount()
                + " fields (at most " + WireFormat.MAX_ENTRY_BYTES + " bytes, "
                + WireFormat.MAX_ENTRY_FIELDS + " fields)", "", Map.of()));
        case HELD -> {
          return new Page(letters, e.id()); // past the budget: the next page starts there
        }
      }
    }
    String next = entries.size() < count ? null
        : RedisBackend.nextId(entries.get(entries.size() - 1).id());
    return new Page(letters, next);
  }

  /** Replays every replayable dead letter; see {@link #replay(Predicate)}. */
  public int replay() {
    return replay(event -> true);
  }

  /** Writes a dead letter from the Spine into the dead-letter stream. */
  @Override
  public void add(io.necrostack.core.DeadLetter letter) {
    Objects.requireNonNull(letter, "letter == null");
    backend.checkOpen();
    Event event = letter.event();
    Map<String, String> fields = new LinkedHashMap<>();
    fields.put(WireFormat.ORIGINAL_ID, event.id().toString());
    fields.put(WireFormat.EVENT, event.toJson());
    fields.put(WireFormat.REASON, letter.reason());
    fields.put(WireFormat.FAILED_AT, WireFormat.failedAt(letter.lastFailure()));
    putIfPresent(fields, ORGAN, letter.organ());
    putIfPresent(fields, WireFormat.ERROR_CLASS, letter.errorClass());
    putIfPresent(fields, ERROR_MESSAGE, letter.errorMessage());
    fields.put(ATTEMPTS, Integer.toString(letter.attempts()));
    fields.put(FIRST_FAILURE, WireFormat.failedAt(letter.firstFailure()));
    fields.put(WireFormat.STREAM, config.stream());
    fields.put(WireFormat.GROUP, config.group());
    fields.put(WireFormat.CONSUMER, config.consumer());
    WireFormat.metadataFields(WireFormat.fields(event)).forEach(fields::put);
    XAddArgs args = new XAddArgs();
    if (config.deadLetterMaxLength() > 0) {
      args.maxlen(config.deadLetterMaxLength()); // exact: the cap is a promise to operators
    }
    try {
      redis.sync().xadd(config.deadLetterStream(), args, fields);
    } catch (RuntimeException e) {
      throw failure("cannot add a dead letter", e);
    }
  }

  /**
   * Every dead letter whose event is valid, oldest first, as the Spine sees them (a malformed
   * entry's dead letter has no event: see {@link #list(int)} for those).
   */
  @Override
  public List<io.necrostack.core.DeadLetter> list() {
    backend.checkOpen();
    List<io.necrostack.core.DeadLetter> out = new ArrayList<>();
    String start = "-";
    try {
      while (start != null) {
        Page page = page(start, PAGE);
        for (DeadLetter letter : page.letters()) {
          letter.event().ifPresent(event -> out.add(toCore(letter, event)));
        }
        start = page.next();
      }
      return out;
    } catch (RuntimeException e) {
      throw failure("cannot list dead letters", e);
    }
  }

  /**
   * Writes the dead-lettered events whose type matches into {@code target} (this backend's
   * stream when it is this backend) and deletes their dead letters; see {@link
   * #replay(Predicate)}.
   */
  @Override
  public int replay(Backend target, Predicate<String> eventTypes) {
    Objects.requireNonNull(eventTypes, "eventTypes == null");
    return replayInto(target, event -> eventTypes.test(event.eventType()));
  }

  private static io.necrostack.core.DeadLetter toCore(DeadLetter letter, Event event) {
    Map<String, String> f = letter.fields();
    Instant last = parseInstant(letter.failedAt());
    Instant first = parseInstant(f.get(FIRST_FAILURE));
    int attempts = letter.deliveryCount().orElse(0);
    try {
      attempts = Integer.parseInt(f.getOrDefault(ATTEMPTS, Integer.toString(attempts)));
    } catch (NumberFormatException e) {
      // keep the delivery count
    }
    Instant lastFailure = last != null ? last : Instant.EPOCH;
    return new io.necrostack.core.DeadLetter(event, letter.reason(), f.get(ORGAN),
        f.get(WireFormat.ERROR_CLASS), f.get(ERROR_MESSAGE), attempts,
        first != null ? first : lastFailure, lastFailure);
  }

  private static Instant parseInstant(String text) {
    if (text == null || text.isEmpty()) {
      return null;
    }
    try {
      return java.time.OffsetDateTime.parse(text).toInstant();
    } catch (DateTimeParseException e) {
      return null;
    }
  }

  private static void putIfPresent(Map<String, String> fields, String key, String value) {
    if (value != null) {
      fields.put(key, value);
    }
  }

  private static final String ORGAN = "organ";
  private static final String ERROR_MESSAGE = "error_message";
  private static final String ATTEMPTS = "attempts";
  private static final String FIRST_FAILURE = "first_failure";

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
    return replayInto(backend, filter);
  }

  private int replayInto(Backend target, Predicate<Event> filter) {
    Objects.requireNonNull(target, "target == null");
    Objects.requireNonNull(filter, "filter == null");
    backend.checkOpen();
    RedisCommands<String, String> sync = redis.sync();
    int replayed = 0;
    String start = "-";
    try {
      while (start != null) {
        Page page = page(start, PAGE);
        List<Event> events = new ArrayList<>();
        List<String> ids = new ArrayList<>();
        for (DeadLetter letter : page.letters()) {
          letter.event().filter(filter).ifPresent(event -> {
            events.add(event);
            ids.add(letter.id());
          });
        }
        if (!events.isEmpty()) {
          target.enqueueAll(events);
          sync.xdel(config.deadLetterStream(), ids.toArray(new String[0]));
          replayed += events.size();
        }
        start = page.next();
      }
      return replayed;
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
  @Override
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

  private static DeadLetter toDeadLetter(String id, Map<String, String> f) {
    return new DeadLetter(id,
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
