package io.necrostack.redis;

import io.lettuce.core.Consumer;
import io.lettuce.core.Limit;
import io.lettuce.core.Range;
import io.lettuce.core.RedisBusyException;
import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisException;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.RedisLoadingException;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.XGroupCreateArgs;
import io.lettuce.core.XReadArgs;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.models.stream.PendingMessage;
import io.lettuce.core.protocol.CommandArgs;
import io.lettuce.core.protocol.CommandType;
import io.necrostack.backend.Backend;
import io.necrostack.backend.BackendException;
import io.necrostack.backend.BackendHealth;
import io.necrostack.backend.BufferedSettles;
import io.necrostack.backend.DeadLetterStore;
import io.necrostack.backend.DelayedRedelivery;
import io.necrostack.backend.Delivery;
import io.necrostack.backend.LeaseRenewal;
import io.necrostack.core.Event;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The durable backend: events in a Redis stream, shared by the consumers of one consumer
 * group, so many Spines on many machines each handle a share, at least once.
 *
 * <p><b>Reading.</b> {@link #pull} first re-delivers this consumer's own pending entries from
 * a previous life (once, at the first pulls), then reads new entries with {@code XREADGROUP
 * ... BLOCK} on a connection of its own. Every {@link RedisBackendConfig#claimInterval()} a
 * pull also runs a claim round ({@code XAUTOCLAIM}) that takes over entries pending longer
 * than {@link RedisBackendConfig#claimIdleTime()} at any consumer of the group (a crashed
 * one, or this one after {@link #release}). A pull that filled its batch sends the next
 * {@code XREADGROUP} at once, without {@code BLOCK} ({@link RedisBackendConfig#readAhead()}):
 * Redis reads and Lettuce's I/O thread decodes the next batch while the Spine handles this
 * one. An entry whose next delivery would exceed {@link
 * RedisBackendConfig#maxDeliveries()} is dead-lettered instead; so is an entry that is not a
 * valid event (no {@code event} field, bad JSON, invalid event), with the precise reason. The
 * group is created on first use and re-created when Redis answers {@code NOGROUP} (after a
 * restart without persistence, a flush or a group deletion), reading from the stream's start
 * so nothing still in the stream is skipped (at least once: some entries may be handled
 * again).
 *
 * <p><b>Read bounds.</b> Any producer can write anything into a stream. An entry over the read
 * limits (more than 1,024 fields, more than 1,179,648 bytes of field names and values, or an
 * {@code event} field over {@link Event#MAX_JSON_BYTES} bytes) is never decoded here: its
 * values are measured in Lettuce's network buffer and dropped, and a script dead-letters it
 * on the server with the reason, its size and the first 64 KiB of its body. Claims check the
 * same limits on the server. A read decodes at most {@link RedisBackendConfig#maxReadBytes()}
 * of entries (at least one) and holds back the rest, already delivered to this consumer, to
 * read them again by id when a pull reaches them; a read-ahead gets what the pull before it
 * left. Within the limits, {@link Event#fromJson(String)} bounds the JSON (document, strings,
 * numbers, tokens, depth) and the event its type and metadata.
 *
 * <p><b>Leases.</b> An entry's idle time counts from its delivery, so without more a
 * consumer holding a batch of slow handlings would see its tail claimed by others before it
 * started on it. So this backend renews ({@link LeaseRenewal}) every entry delivered to it
 * and not yet settled or {@linkplain #release released} — read ahead, held back for the read
 * budget, waiting in the Spine's batch, or being handled — every quarter of the claim idle
 * time, in one fenced script per round on its own thread ({@code XCLAIM ... JUSTID} to
 * itself: idle time reset, delivery count unchanged, never an entry another consumer owns).
 * A handling is renewed only for the limit the Spine gives when it starts (what its handler
 * timeouts and retries allow): a handler stuck past it lets its entry be claimed. Entries not
 * started are renewed while the consumer makes progress, so one stuck handling does not hold
 * the rest of its batch for ever. A crashed consumer renews nothing: its entries are claimed
 * after the claim idle time.
 *
 * <p><b>Settling.</b> {@link #commit} writes the emitted events and acknowledges the handled
 * entry in one Lua script, <em>fenced</em>: only if the entry is still pending for this
 * consumer. The guarantee: the emitted events are written, in order, if and only if the
 * handled entry is acknowledged, atomically; an entry claimed by another consumer (because
 * this one's handling was stuck past its limit, see <em>Leases</em>) is not committed here,
 * and the other consumer's handling alone emits. A crash before the commit runs leaves nothing written; the
 * entry is redelivered. {@link #ack} is a commit without events. By default ({@link
 * RedisBackendConfig#batchSettles()}) acks and commits are buffered and sent together in one
 * such script at the next pull, not waited for (at most two in flight; the next send, an
 * idle pull, {@link #flush()} or {@link #close()} awaits them), so a crash may lose settles
 * made since the last pull (those entries are delivered again, nothing of theirs written);
 * {@link #flush()} sends them now, {@link #tryCommit} commits now and says whether it did.
 * The failure of a buffered settle never surfaces in a later call ({@link BufferedSettles}):
 * one that could not reach Redis stays queued, in order, and is sent again by the next pull
 * (which fails while Redis stays unreachable) or flush; one Redis refused with an error reply
 * is kept for {@link #takeRefusedSettles}, for the Spine to apply that event's emit-failure
 * policy. {@link #ackAll} runs one {@code XACK} now. {@link #nack} dead-letters the entry at
 * once with the reason. {@link #retryLater} schedules it for a later redelivery. {@link
 * #release} stops renewing: the entries stay pending and are claimed again after the claim
 * idle time. If Redis loses acknowledged writes (no persistence, failover), these guarantees hold
 * only for what it kept.
 *
 * <p><b>Housekeeping.</b> {@link #deadLetters()} lists, counts, replays and purges dead
 * letters; {@link #removeIdleConsumers} removes consumers with nothing pending; {@link
 * #health()} and {@link #metrics()} report on the stream and this backend.
 *
 * <p><b>Wire format.</b> Shared with the Python original; see the package documentation. In a
 * Redis Cluster the stream, dead-letter stream and delayed set must share a hash slot: use a
 * hash tag, e.g. {@code {orders}:events}.
 *
 * <p><b>Threads.</b> Thread-safe; pulls are serialized. Commands that fail because Redis is
 * unreachable throw {@link BackendException}; Lettuce reconnects in the background and never
 * replays a command sent before the disconnect.
 *
 * <p>Not {@link io.necrostack.backend.Drainable}: a Redis stream is a service that other
 * processes write to; a Spine on it runs until stopped.
 */
public final class RedisBackend
    implements Backend, DelayedRedelivery, DeadLetterStore, BufferedSettles, LeaseRenewal {
  /**
   * Metadata key of an event redelivered by {@link #nack(Delivery, String, Duration)}: the
   * deliveries it had before, added to the new entry's own count.
   */
  public static final String PRIOR_DELIVERIES = "prior_deliveries";

  private static final Logger log = LoggerFactory.getLogger(RedisBackend.class);
  private static final String CURSOR_START = "0-0";
  /** Bound on a settle script's arguments, well under Lua's stack limits per XADD. */
  private static final int MAX_SETTLE_ARGS = 200_000;
  /** Bound on the characters sent in one script run, so one call never gets huge. */
  static final long MAX_SCRIPT_CHARS = 4_000_000;

  private final RedisBackendConfig config;
  private final RedisConnections redis;
  private final String[] streamKey;
  private final String[] streamAndDlq;
  private final String[] streamAndDelayed;
  private final String[] streamDelayedAndDlq;
  private final String maxLen;
  private final String deadLetterMaxLen;
  private final Leases leases;
  private final ReentrantLock readLock = new ReentrantLock();
  private volatile boolean closed;

  // Reader state, guarded by readLock.
  private boolean ownPendingDone;
  private String ownPendingNext = "-";
  private String claimCursor = CURSOR_START;
  private long nextClaimNanos;
  private long nextDelayedPollNanos;
  /** The XREADGROUP sent ahead by the last pull that got entries (read-ahead), or null. */
  private PendingRead readAheadRead;
  /** Entries read ahead beyond what a pull asked for, handed out first by the next. */
  private final ArrayDeque<Parsed> surplus = new ArrayDeque<>();

  /** A read in flight: the command (to cancel), its decoded result, its client timeout. */
  private record PendingRead(RedisFuture<?> command, CompletableFuture<List<Parsed>> parsed,
      long sentNanos, Duration timeout) {}

  /**
   * An entry decoded off the Spine's thread: the event, or why it is malformed; or, without
   * fields, an entry over the read limits ({@code oversize}) or past the read's byte budget
   * ({@code held}: read again when its turn comes). Its lease is renewed from the read on.
   */
  private record Parsed(String id, Map<String, String> fields, Event event,
      WireFormat.MalformedEntryException malformed, BoundedEntryOutput.Kind kind, long bytes,
      Leases.Lease lease) {
    boolean held() {
      return kind == BoundedEntryOutput.Kind.HELD;
    }
  }

  // Settle buffer (batched settles), guarded by settleLock.
  private final ReentrantLock settleLock = new ReentrantLock();
  private final List<String> settleArgs = new ArrayList<>();
  private final List<RedisDelivery> settleEntries = new ArrayList<>();
  private final List<List<Event>> settleEmitted = new ArrayList<>();
  private long settleChars;
  /**
   * Settle scripts not yet accounted for, oldest first: sent (at most MAX_SETTLES_IN_FLIGHT
   * running at once), or waiting to be sent again after Redis was unreachable. One waiting
   * to be sent again holds back the later ones, so settles keep their order.
   */
  private final ArrayDeque<InFlight> inFlight = new ArrayDeque<>();
  /**
   * Two, so the Spine hands a full buffer over and goes on while Redis still runs the one
   * before (with one, the end of every batch waited for the previous batch's settle).
   */
  private static final int MAX_SETTLES_IN_FLIGHT = 2;
  /**
   * Settles Redis refused, for {@link #takeRefusedSettles}; at most {@link #maxRefused()}
   * (past it the oldest is dropped and logged: its entry stays pending, delivered again).
   */
  private final ArrayDeque<RefusedSettle> refused = new ArrayDeque<>();
  private volatile boolean anyRefused;
  /** Per entry id, the refusals of its settles so far; emptied as they settle. */
  private final Map<String, Integer> refusals = new HashMap<>();
  /** Why the oldest unsent settle could not be sent, for the pull or flush that gives up. */
  private RuntimeException unsentBecause;

  /**
   * A settle script: sent (with its reply to come) or not (a null future: waiting to be sent
   * again), with what is needed to re-run it and to account for or report each entry.
   */
  private record InFlight(RedisFuture<List<Object>> future, String[] argv,
      List<RedisDelivery> entries, List<List<Event>> emitted, String lo, String hi) {

    /** The same settle, to be sent again. */
    InFlight unsent() {
      return new InFlight(null, argv, entries, emitted, lo, hi);
    }

    /** Whether it must be sent (again) before anything after it: never sent, or it failed. */
    boolean failed() {
      return future == null
          || future.isDone() && future.toCompletableFuture().isCompletedExceptionally();
    }
  }

  /** How far a send goes for a settle that is not through. */
  private enum SendMode {
    /** From a commit or ack: never re-runs an older settle, never throws its failure. */
    BUFFER,
    /** From a pull: re-runs an unsent settle once; if Redis is still unreachable, throws. */
    PULL,
    /** From flush(): re-runs for up to the retry time, then throws. */
    FLUSH
  }

  private final LongAdder enqueued = new LongAdder();
  private final LongAdder pulled = new LongAdder();
  private final LongAdder acked = new LongAdder();
  private final LongAdder deadLettered = new LongAdder();
  private final LongAdder reclaimed = new LongAdder();
  private final LongAdder fencedCommits = new LongAdder();
  private final LongAdder lostEntries = new LongAdder();
  private final LongAdder refusedSettles = new LongAdder();
  private final LongAdder undecodableDelayed = new LongAdder();

  private RedisBackend(RedisBackendConfig config) {
    this.config = config;
    this.redis = new RedisConnections(config);
    this.streamKey = new String[] {config.stream()};
    this.streamAndDlq = new String[] {config.stream(), config.deadLetterStream()};
    this.streamAndDelayed = new String[] {config.stream(), config.delayedKey()};
    this.streamDelayedAndDlq =
        new String[] {config.stream(), config.delayedKey(), config.deadLetterStream()};
    this.maxLen = Long.toString(config.maxLength());
    this.deadLetterMaxLen = Long.toString(config.deadLetterMaxLength());
    this.nextClaimNanos = System.nanoTime() + config.claimInterval().toNanos();
    try {
      ensureGroup();
    } catch (RuntimeException e) {
      redis.close();
      throw new BackendException(
          "cannot create consumer group '" + config.group() + "' on stream '" + config.stream()
              + "' at " + config.redactedUrl() + ": " + RedisConnections.describe(e));
    }
    this.leases = new Leases(config, redis);
    leases.start();
    log.atInfo()
        .addKeyValue("url", config.redactedUrl())
        .addKeyValue("stream", config.stream())
        .addKeyValue("group", config.group())
        .addKeyValue("consumer", config.consumer())
        .log("redis backend connected");
  }

  /**
   * Connects to Redis and creates the consumer group if needed.
   *
   * @throws BackendException if Redis cannot be reached, refuses the credentials, or the group
   *     cannot be created; the message never contains the password
   */
  public static RedisBackend create(RedisBackendConfig config) {
    Objects.requireNonNull(config, "config == null");
    return new RedisBackend(config);
  }

  /**
   * Creates the backend when Redis may not be up yet: retries while Redis is unreachable,
   * backing off from 100 ms doubling to 2 s, for at most {@code maxWait}. For services started
   * together with their Redis (containers, a reboot): they wait instead of crashing, and still
   * fail visibly when Redis never comes.
   *
   * @param maxWait how long to keep trying; zero tries once, as {@link #create} does
   * @throws BackendException after {@code maxWait} without success, naming the redacted URL,
   *     the time waited, the attempts and the last error
   */
  public static RedisBackend connect(RedisBackendConfig config, Duration maxWait) {
    return RedisStartup.connect(config, maxWait);
  }

  /** A backend on a local Redis with every default. */
  public static RedisBackend create() {
    return create(RedisBackendConfig.defaults());
  }

  /** This backend's configuration. */
  public RedisBackendConfig config() {
    return config;
  }

  /**
   * Tools to inspect, replay and purge this backend's dead-letter stream; also the Spine's
   * dead-letter store by default, so the events it gives up on land in the same stream.
   */
  @Override
  public RedisDeadLetters deadLetters() {
    checkOpen();
    return new RedisDeadLetters(this, redis, config);
  }

  // ------------------------------------------------------------------ writing

  @Override
  public void enqueue(Event event) {
    Objects.requireNonNull(event, "event == null");
    enqueueAll(List.of(event));
  }

  /**
   * Appends the events in one script run: all or nothing, unless the list is long enough to be
   * split into runs of at most {@link RedisBackendConfig#batchSize()} events (and about
   * {@value #MAX_SCRIPT_CHARS} characters), each all or nothing, in order.
   */
  @Override
  public void enqueueAll(List<Event> events) {
    for (Event event : events) {
      Objects.requireNonNull(event, "events contains null");
    }
    checkOpen();
    List<String> args = new ArrayList<>();
    args.add(maxLen);
    int inChunk = 0;
    long chars = 0;
    for (int i = 0; i < events.size(); i++) {
      chars += appendEvent(events.get(i), args);
      inChunk++;
      if (inChunk >= config.batchSize() || chars >= MAX_SCRIPT_CHARS || i == events.size() - 1) {
        String[] argv = toArray(args);
        try {
          retrying(() -> redis.<Long>eval(Scripts.ENQUEUE, ScriptOutputType.INTEGER, streamKey,
              argv), RedisBackend::isUnsent);
        } catch (RuntimeException e) {
          throw failure("cannot enqueue " + inChunk + " event(s)"
              + (i + 1 > inChunk ? " (the " + (i + 1 - inChunk) + " before them were)" : ""),
              e);
        }
        enqueued.add(inChunk);
        args.clear();
        args.add(maxLen);
        inChunk = 0;
        chars = 0;
      }
    }
  }

  private static long appendEvents(List<Event> events, List<String> args) {
    long chars = 0;
    for (Event event : events) {
      chars += appendEvent(event, args);
    }
    return chars;
  }

  /** Appends one event as its field count and fields; returns their length in characters. */
  private static long appendEvent(Event event, List<String> args) {
    int countAt = args.size();
    args.add(null);
    WireFormat.appendFields(event, args);
    args.set(countAt, Integer.toString(args.size() - countAt - 1));
    long chars = 0;
    for (int k = countAt + 1; k < args.size(); k++) {
      chars += args.get(k).length();
    }
    return chars;
  }

  // ------------------------------------------------------------------ reading

  @Override
  public List<Delivery> pull(int maxEvents, Duration timeout) throws InterruptedException {
    if (maxEvents < 1) {
      throw new IllegalArgumentException("maxEvents must be at least 1, got " + maxEvents);
    }
    Objects.requireNonNull(timeout, "timeout == null");
    long deadline = System.nanoTime() + Math.max(0, timeout.toNanos());
    readLock.lockInterruptibly();
    try {
      checkOpen();
      // Send what was handled since the last pull, without waiting: Redis runs the settle
      // script while this client reads and the Spine handles the next batch. At most two
      // settles are in flight; the next send, an idle pull or close() awaits them. One that
      // could not reach Redis is sent again here first (fenced, so entries it did settle are
      // skipped); while Redis stays unreachable the pull fails, and the consumer backs off.
      send(SendMode.PULL, false);
      int max = Math.min(maxEvents, config.batchSize());
      List<Delivery> out = new ArrayList<>(Math.min(max, 64));
      try {
        // Redeliveries (own pending from a previous life, claims) go one entry per pull:
        // each bumps its delivery count, so a batch of them would also bump the entries a
        // crash-inducing poison in that batch kept from being handled, and after max
        // deliveries they would all be dead-lettered with the poison. One at a time, only
        // the entry actually handled when the consumer dies pays for it.
        // Nothing else is read before the previous life's entries are: an entry of this life
        // would join the own pending list the scan pages through, and be handed out twice.
        // So an own pending entry that yields no delivery (deleted, malformed, past max
        // deliveries) is followed by the next one, not by new entries.
        while (!ownPendingDone) {
          readOwnPending(1, out);
          if (!out.isEmpty() || closed) {
            return counted(out);
          }
        }
        long now = System.nanoTime();
        if (now - nextDelayedPollNanos >= 0) {
          nextDelayedPollNanos = now + config.delayedPollInterval().toNanos();
          moveDueDelayed(max);
        }
        if (claimDue()) {
          claim(1, out);
          if (!out.isEmpty()) {
            return counted(out);
          }
        }
        do {
          readNew(max, deadline, out);
        } while (out.isEmpty() && System.nanoTime() - deadline < 0 && !closed);
        if (out.isEmpty()) {
          send(SendMode.PULL, true); // idle: account for the settles in flight now
        }
      } catch (InterruptedException e) {
        throw e;
      } catch (RuntimeException e) {
        if (closed) {
          return List.of(); // closing woke us: the contract says return empty
        }
        if (isNoGroup(e)) {
          recreateGroup();
          return counted(out);
        }
        throw failure("cannot read stream '" + config.stream() + "'", e);
      }
      return counted(out);
    } finally {
      readLock.unlock();
    }
  }

  private List<Delivery> counted(List<Delivery> out) {
    pulled.add(out.size());
    return out;
  }

  /** Re-delivers, page by page, what this consumer left pending in a previous life. */
  private void readOwnPending(int max, List<Delivery> out) {
    List<Object> reply =
        redis.eval(Scripts.OWN_PENDING, ScriptOutputType.MULTI, streamKey,
            config.group(), config.consumer(), ownPendingNext, Integer.toString(max));
    String last = (String) reply.get(0);
    handleClaimed(reply, out, false);
    if (last == null || last.isEmpty()) {
      ownPendingDone = true;
      log.atDebug().addKeyValue("consumer", config.consumer()).log("own pending entries read");
    } else {
      ownPendingNext = nextId(last);
    }
  }

  private boolean claimDue() {
    long now = System.nanoTime();
    // A cursor mid-scan means the last round stopped at its count: go on without waiting.
    if (!CURSOR_START.equals(claimCursor) || now - nextClaimNanos >= 0) {
      nextClaimNanos = now + config.claimInterval().toNanos();
      return true;
    }
    return false;
  }

  /** One claim round: takes over entries idle at any consumer for the claim idle time. */
  private void claim(int max, List<Delivery> out) {
    List<Object> reply =
        redis.eval(Scripts.CLAIM, ScriptOutputType.MULTI, streamKey,
            config.group(), config.consumer(),
            Long.toString(config.claimIdleTime().toMillis()), claimCursor,
            Integer.toString(max));
    claimCursor = (String) reply.get(0);
    int before = out.size();
    handleClaimed(reply, out, true);
    if (out.size() > before) {
      log.atInfo()
          .addKeyValue("consumer", config.consumer())
          .addKeyValue("claimed", out.size() - before)
          .log("claimed idle pending entries");
    }
  }

  /**
   * Turns a claim script's reply into deliveries, dead-lettering entries past the max
   * deliveries or malformed, and counting deleted ones as lost.
   */
  @SuppressWarnings("unchecked")
  private void handleClaimed(List<Object> reply, List<Delivery> out, boolean reclaim) {
    List<Object> entries = (List<Object>) reply.get(1);
    List<Object> deleted = (List<Object>) reply.get(2);
    for (Object o : entries) {
      List<Object> entry = (List<Object>) o;
      String id = (String) entry.get(0);
      Map<String, String> fields = pairs((List<Object>) entry.get(1));
      int count = (int) Math.min(Integer.MAX_VALUE, ((Number) entry.get(2)).longValue());
      if (reclaim) {
        reclaimed.increment();
      }
      if (entry.size() > 3) { // over the read limits: the script kept its fields on the server
        deadLetterOversize(id, count);
        continue;
      }
      if (count > config.maxDeliveries()) {
        deadLetter(id, fields, count,
            "exceeded max deliveries: delivery " + count + " > " + config.maxDeliveries(),
            "MaxDeliveriesExceeded");
        continue;
      }
      Leases.Batch batch = leases.batch(1);
      Leases.Lease lease = batch.add(id);
      batch.hold(); // before deliver(), which may settle it at once
      Delivery d = deliver(parse(id, fields, 0, lease), count);
      if (d != null) {
        out.add(d);
      }
    }
    if (!deleted.isEmpty()) {
      lost(deleted);
    }
  }

  /** Counts and logs pending entries found deleted from the stream (now acknowledged). */
  private void lost(List<?> ids) {
    lostEntries.add(ids.size());
    log.atWarn()
        .addKeyValue("stream", config.stream())
        .addKeyValue("ids", ids)
        .log("pending entries were deleted or trimmed from the stream before being handled");
  }

  /**
   * Reads new entries into {@code out}: first those read ahead beyond an earlier pull's
   * count, then the read sent ahead (waiting for it at most until the deadline, else keeping
   * it for the next pull), else a read sent now. Once a read returns entries, the next one is
   * sent at once ({@link RedisBackendConfig#readAhead()}), with what this pull left of the
   * byte budget ({@link RedisBackendConfig#maxReadBytes()}). Entries a read held back for the
   * budget are read again, by id, when a pull reaches them.
   */
  private void readNew(int max, long deadline, List<Delivery> out) throws InterruptedException {
    if (surplus.isEmpty()) {
      PendingRead read = readAheadRead;
      readAheadRead = null;
      if (read == null) {
        long leftMillis = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
        Duration block = Duration.ZERO;
        if (leftMillis > 0) {
          block = Duration.ofMillis(Math.min(leftMillis, config.blockTime().toMillis()));
        }
        read = sendRead(max, block, config.maxReadBytes(), true);
      }
      List<Parsed> entries = await(read, deadline);
      if (entries == null) {
        readAheadRead = read; // still blocking at the server: the next pull goes on waiting
        return;
      }
      surplus.addAll(entries);
    }
    long bytes = 0;
    while (out.size() < max && !surplus.isEmpty()) {
      if (surplus.peek().held()) {
        if (!out.isEmpty()) {
          break; // this pull has its share of the budget; the next reads these again
        }
        readHeld();
        continue;
      }
      Parsed p = surplus.poll();
      if (p.fields() != null) {
        bytes += p.bytes(); // an entry over the limits was never decoded: it takes nothing
      }
      Delivery d = deliver(p, 1);
      if (d != null) {
        out.add(d);
      }
    }
    // A full batch means a backlog: read the next one while this one is handled. A short
    // batch means the stream is caught up; reading ahead would only add a round trip.
    long left = config.maxReadBytes() - bytes;
    if (config.readAhead() && out.size() >= max && surplus.isEmpty() && readAheadRead == null
        && left > 0 && !closed) {
      // Without BLOCK: it takes only what is in the stream already. A blocking one would
      // take entries as they arrive while the Spine is busy, holding them pending here.
      readAheadRead = sendRead(max, Duration.ZERO, left, false);
    }
  }

  /**
   * Reads again, by id, the entries a read held back for its byte budget, as many from the
   * head of the surplus as the budget takes (at least one). They were delivered to this
   * consumer by that read; one deleted from the stream since is acknowledged and counted
   * lost.
   */
  private void readHeld() {
    List<Parsed> run = new ArrayList<>();
    long bytes = 0;
    for (Parsed p : surplus) {
      if (!p.held() || (!run.isEmpty() && bytes + p.bytes() > config.maxReadBytes())) {
        break;
      }
      run.add(p);
      bytes += p.bytes();
    }
    List<RedisFuture<List<BoundedEntryOutput.Entry>>> reads = new ArrayList<>(run.size());
    for (Parsed p : run) {
      reads.add(BoundedEntryOutput.range(redis.commands(), config.stream(), p.id(), p.id(), 1,
          config.maxReadBytes()));
    }
    ArrayDeque<Parsed> read = new ArrayDeque<>(run.size());
    for (int i = 0; i < run.size(); i++) {
      List<BoundedEntryOutput.Entry> entry = awaitReply(reads.get(i));
      String id = run.get(i).id();
      if (entry.isEmpty()) {
        try {
          retrying(() -> redis.sync().xack(config.stream(), config.group(), id));
        } finally {
          run.get(i).lease().done();
        }
        lost(List.of(id));
      } else {
        read.add(parse(entry.get(0), run.get(i).lease()));
      }
    }
    for (int i = 0; i < run.size(); i++) {
      surplus.poll();
    }
    while (!read.isEmpty()) {
      surplus.addFirst(read.pollLast());
    }
  }

  /** Waits for a reply for at most the command timeout (plus a second), unwrapping its failure. */
  <T> T awaitReply(RedisFuture<T> reply) {
    try {
      return reply.get(config.commandTimeout().toMillis() + 1000, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      reply.cancel(true);
      Thread.currentThread().interrupt();
      throw new BackendException("interrupted while reading");
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      throw cause instanceof RuntimeException re ? re : new BackendException("read failed", cause);
    } catch (TimeoutException e) {
      reply.cancel(true);
      throw new BackendException("read timed out after " + config.commandTimeout(), e);
    }
  }

  /**
   * Sends one XREADGROUP; its entries are decoded on Lettuce's I/O thread as they arrive,
   * within the entry limits and {@code budget} bytes ({@link BoundedEntryOutput}).
   */
  private PendingRead sendRead(int max, Duration block, long budget, boolean keepFirst) {
    CommandArgs<String, String> args = new CommandArgs<>(StringCodec.UTF8)
        .add("GROUP").add(config.group()).add(config.consumer())
        .add("COUNT").add(max);
    if (!block.isZero()) {
      args.add("BLOCK").add(block.toMillis());
    }
    args.add("STREAMS").addKey(config.stream()).add(">");
    RedisFuture<List<BoundedEntryOutput.Entry>> command = redis.reader().async().dispatch(
        CommandType.XREADGROUP, new BoundedEntryOutput(true, budget, keepFirst), args);
    // Decoding is most of a read's client-side cost: on the I/O thread it overlaps with the
    // Spine's handling. Nothing here talks to Redis (dead-lettering happens in deliver()).
    // The entries are held, and their leases renewed, from here on: a batch read ahead or
    // held back for the budget may wait longer than the claim idle time before a pull takes it.
    CompletableFuture<List<Parsed>> parsed =
        command.toCompletableFuture().thenApply(entries -> parse(entries, leases));
    return new PendingRead(command, parsed, System.nanoTime(), redis.readTimeout(block));
  }

  /** A read's entries, each with a lease: all of them are pending for this consumer now. */
  private static List<Parsed> parse(List<BoundedEntryOutput.Entry> entries, Leases leases) {
    if (entries == null || entries.isEmpty()) {
      return List.of();
    }
    List<Parsed> parsed = new ArrayList<>(entries.size());
    Leases.Batch batch = leases.batch(entries.size());
    for (BoundedEntryOutput.Entry e : entries) {
      parsed.add(parse(e, batch.add(e.id())));
    }
    batch.hold();
    return parsed;
  }

  private static Parsed parse(BoundedEntryOutput.Entry e, Leases.Lease lease) {
    if (e.kind() != BoundedEntryOutput.Kind.KEPT) {
      return new Parsed(e.id(), null, null, null, e.kind(), e.bytes(), lease);
    }
    return parse(e.id(), e.fields(), e.bytes(), lease);
  }

  /** Decodes one entry into its event, or keeps why it is malformed. Talks to no one. */
  private static Parsed parse(String id, Map<String, String> fields, long bytes,
      Leases.Lease lease) {
    try {
      return new Parsed(id, fields, WireFormat.decode(fields), null,
          BoundedEntryOutput.Kind.KEPT, bytes, lease);
    } catch (WireFormat.MalformedEntryException e) {
      return new Parsed(id, fields, null, e, BoundedEntryOutput.Kind.KEPT, bytes, lease);
    }
  }

  /**
   * The decoded entries of a read, or null if it is still running at the deadline but within
   * its client timeout (a blocking read waiting for entries).
   */
  private List<Parsed> await(PendingRead read, long deadline) throws InterruptedException {
    long now = System.nanoTime();
    long timeoutAt = read.sentNanos() + read.timeout().toNanos();
    long wait = Math.max(0, Math.min(deadline, timeoutAt) - now);
    try {
      return read.parsed().get(wait, TimeUnit.NANOSECONDS);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause(); // get() unwraps the stage's CompletionException
      if (brokeTheConnection(cause)) {
        // Its entries stay pending here: a claim round delivers them again (and dead-letters
        // one over the read limits on the server).
        redis.resetReader();
      }
      throw cause instanceof RuntimeException re ? re : new BackendException("read failed: "
          + cause, cause);
    } catch (TimeoutException e) {
      if (System.nanoTime() - timeoutAt < 0) {
        return null;
      }
      read.command().cancel(true);
      redis.resetReader();
      throw new BackendException("read timed out after " + read.timeout(), e);
    } catch (InterruptedException e) {
      // Entries the server hands out now stay pending; a later claim round delivers them.
      read.command().cancel(true);
      throw e;
    }
  }

  /**
   * Whether a read failure leaves the reader connection unusable: an error while decoding
   * (a value larger than the client's buffers can take: Netty's direct memory is as large as
   * the heap by default, so a value of more than about half of it), a protocol error, or a
   * client timeout (the reply may still be arriving).
   */
  private static boolean brokeTheConnection(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause()) {
      if (t instanceof Error || t instanceof io.lettuce.core.RedisCommandTimeoutException
          || t instanceof io.lettuce.core.protocol.RedisProtocolException) {
        return true;
      }
    }
    return false;
  }

  /**
   * The delivery for an entry, or null after dead-lettering a malformed one or one whose
   * earlier delayed redeliveries ({@value #PRIOR_DELIVERIES}) used up its max deliveries.
   */
  private Delivery deliver(Parsed entry, int count) {
    String id = entry.id();
    if (entry.kind() == BoundedEntryOutput.Kind.OVERSIZE) {
      try {
        deadLetterOversize(id, count);
      } finally {
        entry.lease().done();
      }
      return null;
    }
    if (entry.malformed() != null) {
      deadLetterHeld(entry, count, entry.malformed().getMessage(), "MalformedEntry");
      return null;
    }
    Event event = entry.event();
    String prior = event.metadata().get(PRIOR_DELIVERIES);
    if (prior != null) {
      try {
        count = (int) Math.min(Integer.MAX_VALUE, (long) count + Integer.parseInt(prior));
      } catch (NumberFormatException e) {
        // metadata written by someone else; the entry's own count stands
      }
      if (count > config.maxDeliveries()) {
        deadLetterHeld(entry, count,
            "exceeded max deliveries: delivery " + count + " > " + config.maxDeliveries(),
            "MaxDeliveriesExceeded");
        return null;
      }
    }
    return new RedisDelivery(event, count, id, this, entry.lease());
  }

  /** Dead-letters an entry that was to be delivered; its lease ends whatever the outcome. */
  private void deadLetterHeld(Parsed entry, int count, String reason, String errorClass) {
    try {
      deadLetter(entry.id(), entry.fields(), count, reason, errorClass);
    } finally {
      entry.lease().done();
    }
  }

  /**
   * From now on the delivery's lease is renewed for at most {@code limit} (zero: for as long
   * as it is held): a handling stuck past it lets its entry be claimed by another consumer.
   */
  @Override
  public void handlingStarted(Delivery delivery, Duration limit) {
    own(delivery).lease().started(limit.toNanos());
  }

  // ------------------------------------------------------------------ settling

  /**
   * Acknowledges the delivery. With {@link RedisBackendConfig#batchSettles()} (the default)
   * the acknowledgement is buffered and sent, fenced, with the next {@link #flush()}; otherwise
   * it is one {@code XACK} now.
   */
  @Override
  public void ack(Delivery delivery) {
    RedisDelivery d = own(delivery);
    checkOpen();
    if (config.batchSettles()) {
      buffer(d, List.of());
      return;
    }
    try {
      acked.add(retrying(() -> redis.sync().xack(config.stream(), config.group(),
          d.deliveryId())));
    } catch (RuntimeException e) {
      throw settleFailure("cannot ack entry " + d.deliveryId(), e);
    } finally {
      d.lease().done();
    }
  }

  /** Acknowledges every delivery now with one {@code XACK}, after flushing buffered settles. */
  @Override
  public void ackAll(List<Delivery> deliveries) {
    if (deliveries.isEmpty()) {
      return;
    }
    String[] ids = new String[deliveries.size()];
    for (int i = 0; i < ids.length; i++) {
      ids[i] = own(deliveries.get(i)).deliveryId();
    }
    try {
      checkOpen();
      flush();
      acked.add(retrying(() -> redis.sync().xack(config.stream(), config.group(), ids)));
    } catch (RuntimeException e) {
      throw settleFailure("cannot ack " + ids.length + " entries", e);
    } finally {
      for (Delivery d : deliveries) {
        ((RedisDelivery) d).lease().done();
      }
    }
  }

  /** Dead-letters the entry at once with the reason, if it is still pending for this consumer. */
  @Override
  public void nack(Delivery delivery, String reason) {
    RedisDelivery d = own(delivery);
    checkOpen();
    Map<String, String> fields = WireFormat.fields(d.event());
    try {
      deadLetter(d.deliveryId(), fields, d.deliveryCount(),
          reason == null ? "nack" : reason, "Nack");
    } finally {
      d.lease().done();
    }
  }

  /**
   * Redelivers the event after the delay (through {@link #retryLater}) while it has
   * deliveries left, counting this delivery: the new entry carries the deliveries so far in
   * its {@value #PRIOR_DELIVERIES} metadata, so the max deliveries still bound it. Past them,
   * or with a zero delay, it is dead-lettered at once as {@link #nack(Delivery, String)} does.
   * If the entry was claimed by another consumer meanwhile, nothing happens here (the other
   * consumer owns it).
   */
  @Override
  public void nack(Delivery delivery, String reason, Duration delay) {
    RedisDelivery d = own(delivery);
    if (delay.isZero() || delay.isNegative() || d.deliveryCount() >= config.maxDeliveries()) {
      nack(delivery, reason);
      return;
    }
    Event again = d.event().withMetadata(PRIOR_DELIVERIES, Integer.toString(d.deliveryCount()));
    retryLater(d, delay, again);
  }

  /**
   * Stops renewing the entries' leases: they stay pending and are claimed again after the
   * claim idle time (or delivered again at this consumer's next start).
   */
  @Override
  public void release(List<Delivery> deliveries) {
    for (Delivery d : deliveries) {
      own(d);
    }
    for (Delivery d : deliveries) {
      ((RedisDelivery) d).lease().done();
    }
  }

  /**
   * Writes the emitted events and acknowledges the delivery atomically, if the entry is still
   * pending for this consumer; see {@link #tryCommit}. A refused commit is logged and counted
   * ({@link RedisBackendMetrics#fencedCommits()}), not thrown: the entry belongs to another
   * consumer, whose handling emits instead.
   */
  @Override
  public void commit(Delivery delivery, List<Event> emitted) {
    if (config.batchSettles()) {
      RedisDelivery d = own(delivery);
      for (Event event : emitted) {
        Objects.requireNonNull(event, "emitted contains null");
      }
      checkOpen();
      buffer(d, emitted);
      return;
    }
    if (!tryCommit(delivery, emitted)) {
      log.atWarn()
          .addKeyValue("entry_id", delivery.deliveryId())
          .addKeyValue("event_id", delivery.event().id())
          .addKeyValue("event_type", delivery.event().eventType())
          .addKeyValue("consumer", config.consumer())
          .log("commit refused: the entry is no longer pending for this consumer (claimed by"
              + " another after the claim idle time); its emitted events were not written");
    }
  }

  /**
   * The fenced commit, in one Lua script: if the delivery's entry is still pending for this
   * consumer, appends the emitted events in order and acknowledges the entry, and returns
   * true; otherwise writes nothing and returns false.
   *
   * @throws BackendException if Redis could not run it; then nothing was written and the
   *     entry stays pending
   */
  public boolean tryCommit(Delivery delivery, List<Event> emitted) {
    RedisDelivery d = own(delivery);
    try {
      return commitNow(d, emitted);
    } finally {
      d.lease().done(); // committed, refused, or left pending to be delivered again
    }
  }

  private boolean commitNow(RedisDelivery d, List<Event> emitted) {
    for (Event event : emitted) {
      Objects.requireNonNull(event, "emitted contains null");
    }
    checkOpen();
    flush(); // keep the order of settles: buffered ones first
    List<String> args = new ArrayList<>(4 + emitted.size() * 4);
    args.add(config.group());
    args.add(config.consumer());
    args.add(d.deliveryId());
    args.add(maxLen);
    appendEvents(emitted, args);
    long result;
    try {
      String[] argv = toArray(args);
      result = retrying(() -> redis.<Long>eval(Scripts.COMMIT, ScriptOutputType.INTEGER,
          streamKey, argv));
    } catch (RuntimeException e) {
      if (isNoGroup(e)) {
        // The group and its pending list are gone: the entry is not ours any more.
        recreateGroup();
        fencedCommits.increment();
        return false;
      }
      throw failure("cannot commit entry " + d.deliveryId(), e);
    }
    if (result == 1) {
      enqueued.add(emitted.size());
      acked.increment();
      return true;
    }
    fencedCommits.increment();
    return false;
  }

  private void buffer(RedisDelivery d, List<Event> emitted) {
    settleLock.lock();
    try {
      settleEntries.add(d);
      settleEmitted.add(emitted);
      settleArgs.add(d.deliveryId());
      settleArgs.add(Integer.toString(emitted.size()));
      settleChars += appendEvents(emitted, settleArgs);
      if (settleEntries.size() >= config.batchSize() || settleArgs.size() >= MAX_SETTLE_ARGS
          || settleChars >= MAX_SCRIPT_CHARS) {
        sendLocked(SendMode.BUFFER, false);
      }
    } finally {
      settleLock.unlock();
    }
  }

  /**
   * Sends the buffered acks and commits in one fenced script run and waits for it and any
   * sent before: each entry still pending for this consumer gets its events appended and is
   * acknowledged, atomically; an entry claimed meanwhile by another consumer gets nothing
   * written (counted in {@link RedisBackendMetrics#fencedCommits()}). {@link #ackAll}, {@link
   * #tryCommit}, {@link #close()} and a pull that finds nothing new flush first; a pull that
   * has work, and a settle that fills the buffer, send without waiting. A settle Redis
   * refuses (an error reply) is not thrown: it is kept for {@link #takeRefusedSettles}.
   *
   * @throws BackendException if Redis stayed unreachable for the retry time; the settles not
   *     sent then stay buffered (sent again, fenced, by the next pull or flush; lost at a
   *     crash, when their entries are delivered again), and nothing of theirs was written
   */
  public void flush() {
    send(SendMode.FLUSH, true);
  }

  /** Sends the buffered settles; with {@code waitAll}, accounts for every one in flight. */
  private void send(SendMode mode, boolean waitAll) {
    settleLock.lock();
    try {
      sendLocked(mode, waitAll);
    } finally {
      settleLock.unlock();
    }
  }

  /**
   * Accounts for the settles at the head of the queue (as far as {@code mode} goes), then
   * sends the buffered ones: at once, without waiting, unless one before them is not through,
   * in which case they queue behind it, so settles and the events they write keep their
   * order. At most {@value #MAX_SETTLES_IN_FLIGHT} scripts run at once (the oldest is awaited
   * before another is sent), so memory stays bounded; they run in order on one connection.
   */
  private void sendLocked(SendMode mode, boolean waitAll) {
    settleHeadsLocked(mode, false);
    if (!settleEntries.isEmpty()) {
      InFlight next = takeBufferLocked();
      if (anyFailedLocked()) {
        inFlight.add(next); // behind a settle Redis has not had yet: sent after it
      } else {
        inFlight.add(sendAsync(next));
      }
    }
    if (waitAll) {
      settleHeadsLocked(mode, true);
    }
  }

  /**
   * Settles the head of the queue while it is done, or while it must make room ({@code
   * all}: until the queue is empty). A head that could not reach Redis is run again as far as
   * {@code mode} allows; if Redis is still unreachable, a pull or flush throws and a buffering
   * commit leaves it queued (never throwing an older settle's failure into it).
   */
  private void settleHeadsLocked(SendMode mode, boolean all) {
    InFlight head;
    while ((head = inFlight.peek()) != null) {
      if (head.failed()) {
        if (mode == SendMode.BUFFER) {
          return;
        }
        if (!rerunHeadLocked(mode == SendMode.FLUSH)) {
          throw failure("cannot settle " + head.entries().size() + " entries (they stay"
              + " buffered and are sent again, fenced, by the next pull or flush)",
              unsentBecause);
        }
        continue;
      }
      boolean windowFull = inFlight.size() >= MAX_SETTLES_IN_FLIGHT && !settleEntries.isEmpty();
      if (all || windowFull || head.future().isDone()) {
        awaitHeadLocked();
        continue;
      }
      return;
    }
  }

  private boolean anyFailedLocked() {
    for (InFlight f : inFlight) {
      if (f.failed()) {
        return true;
      }
    }
    return false;
  }

  /** The buffer as one settle script, not yet sent; empties the buffer. */
  private InFlight takeBufferLocked() {
    List<String> args = new ArrayList<>(5 + settleArgs.size());
    args.add(config.group());
    args.add(config.consumer());
    args.add(maxLen);
    String lo = settleEntries.get(0).deliveryId();
    String hi = lo;
    for (RedisDelivery d : settleEntries) {
      if (compareIds(d.deliveryId(), lo) < 0) {
        lo = d.deliveryId();
      }
      if (compareIds(d.deliveryId(), hi) > 0) {
        hi = d.deliveryId();
      }
    }
    args.add(lo);
    args.add(hi);
    args.addAll(settleArgs);
    InFlight settle = new InFlight(null, toArray(args), new ArrayList<>(settleEntries),
        new ArrayList<>(settleEmitted), lo, hi);
    settleEntries.clear();
    settleEmitted.clear();
    settleArgs.clear();
    settleChars = 0;
    return settle;
  }

  /** Sends a settle script without waiting; unsent (null future) if Lettuce refused it. */
  private InFlight sendAsync(InFlight settle) {
    try {
      return new InFlight(redis.commands().async().evalsha(redis.sha(Scripts.SETTLE_MANY),
          ScriptOutputType.MULTI, streamKey, settle.argv()), settle.argv(), settle.entries(),
          settle.emitted(), settle.lo(), settle.hi());
    } catch (RuntimeException e) {
      unsentBecause = e;
      return settle; // not sent: run again by the next pull or flush
    }
  }

  /**
   * Waits for the reply of the settle at the head. If it failed in any way (disconnected,
   * timed out, NOSCRIPT after a restart), it stays at the head, to be run again: that is safe
   * because every settle in it is fenced, so entries it did settle are skipped the second time.
   */
  private void awaitHeadLocked() {
    InFlight f = inFlight.peek();
    List<Object> results;
    try {
      results = f.future().get(config.commandTimeout().toMillis() + 1000,
          TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      inFlight.poll();
      endLeases(f);
      log.atWarn().addKeyValue("entries", f.entries().size())
          .log("interrupted while settling; those entries may be delivered again");
      return;
    } catch (ExecutionException | TimeoutException e) {
      log.atDebug().addKeyValue("error", e.toString()).log("async settle failed; will re-run");
      if (e.getCause() != null && isNoScript(e.getCause())) {
        redis.forget(Scripts.SETTLE_MANY);
      }
      unsentBecause = e.getCause() instanceof RuntimeException re ? re
          : new BackendException("settle failed: " + e);
      inFlight.poll();
      inFlight.addFirst(f.unsent());
      return;
    }
    inFlight.poll();
    account(f, results);
  }

  /**
   * Runs the head settle again, synchronously: once, or retrying for the retry time. True if
   * it is through (settled, refused by Redis, or moot after NOGROUP), false if Redis is still
   * unreachable (it stays at the head).
   */
  private boolean rerunHeadLocked(boolean persist) {
    InFlight f = inFlight.peek();
    List<Object> results;
    try {
      Supplier<List<Object>> settle = () -> redis.eval(Scripts.SETTLE_MANY,
          ScriptOutputType.MULTI, streamKey, f.argv());
      results = persist ? retrying(settle) : settle.get();
    } catch (RuntimeException e) {
      if (isNoGroup(e)) {
        inFlight.poll();
        recreateGroup(); // the pending list went with the group: nothing of ours to settle
        fencedCommits.add(f.entries().size());
        forgetRefusals(f);
        endLeases(f);
        return true;
      }
      if (isRefusal(e)) {
        inFlight.poll();
        refuse(f, e);
        return true;
      }
      unsentBecause = e;
      return false;
    }
    inFlight.poll();
    account(f, results);
    return true;
  }

  /**
   * Settled, or left pending to be delivered again: no longer renewed. A settle that could not
   * reach Redis stays queued and keeps its leases until it is through; a refused one keeps
   * them until the Spine settles the entry again.
   */
  private static void endLeases(InFlight f) {
    for (RedisDelivery d : f.entries()) {
      d.lease().done();
    }
  }

  private void account(InFlight f, List<Object> results) {
    endLeases(f);
    for (int i = 0; i < f.entries().size(); i++) {
      RedisDelivery d = f.entries().get(i);
      if (!refusals.isEmpty()) {
        refusals.remove(d.deliveryId());
      }
      if (((Number) results.get(i)).longValue() == 1) {
        acked.increment();
        enqueued.add(f.emitted().get(i).size());
      } else {
        fencedCommits.increment();
        log.atWarn()
            .addKeyValue("entry_id", d.deliveryId())
            .addKeyValue("event_id", d.event().id())
            .addKeyValue("event_type", d.event().eventType())
            .addKeyValue("consumer", config.consumer())
            .log("settle refused: the entry is no longer pending for this consumer (claimed by"
                + " another after the claim idle time, or settled by an attempt whose reply"
                + " was lost); nothing was written for it");
      }
    }
  }

  private void forgetRefusals(InFlight f) {
    if (!refusals.isEmpty()) {
      for (RedisDelivery d : f.entries()) {
        refusals.remove(d.deliveryId());
      }
    }
  }

  /**
   * A server error reply to a settle: Redis answered and would not run it (out of memory, a
   * key of the wrong type). Not a refusal: replies that pass (loading, busy, a failover).
   */
  static boolean isRefusal(RuntimeException e) {
    if (!(e instanceof RedisCommandExecutionException) || e instanceof RedisLoadingException) {
      return false;
    }
    String m = e.getMessage() == null ? "" : e.getMessage();
    for (String passing : List.of("LOADING", "BUSY", "TRYAGAIN", "MASTERDOWN", "CLUSTERDOWN",
        "READONLY", "NOSCRIPT")) {
      if (m.startsWith(passing)) {
        return false;
      }
    }
    return true;
  }

  /**
   * Keeps a refused settle for {@link #takeRefusedSettles}, entry by entry, for the entries
   * still pending for this consumer (one claimed by another meanwhile is not ours to report).
   * Redis refuses a script as a whole, at its first refused write, before anything is written
   * (out of memory is checked only before a script's first write). The acks in it write no
   * event and would not be refused on their own: they are sent again alone, so a refusal
   * reaches only the commits whose events could not be written.
   */
  private void refuse(InFlight f, RuntimeException e) {
    List<Integer> acks = new ArrayList<>();
    for (int i = 0; i < f.entries().size(); i++) {
      if (f.emitted().get(i).isEmpty()) {
        acks.add(i);
      }
    }
    boolean acksSettled = false;
    if (!acks.isEmpty() && acks.size() < f.entries().size()) {
      InFlight ackOnly = acksOnly(f, acks);
      try {
        account(ackOnly, redis.eval(Scripts.SETTLE_MANY, ScriptOutputType.MULTI, streamKey,
            ackOnly.argv()));
        acksSettled = true;
      } catch (RuntimeException again) {
        // reported with the commits below: each stays pending
      }
    }
    Set<String> pending = pendingAmong(f);
    BackendException error = failure("Redis refused to settle " + f.entries().size()
        + " entries", e);
    int reported = 0;
    for (int i = 0; i < f.entries().size(); i++) {
      RedisDelivery d = f.entries().get(i);
      if (acksSettled && f.emitted().get(i).isEmpty()) {
        continue;
      }
      if (pending != null && !pending.contains(d.deliveryId())) {
        fencedCommits.increment();
        refusals.remove(d.deliveryId());
        d.lease().done(); // another consumer's now
        continue;
      }
      int attempt = refusals.merge(d.deliveryId(), 1, Integer::sum);
      refused.add(new RefusedSettle(d, f.emitted().get(i), error, attempt));
      refusedSettles.increment();
      reported++;
      if (refused.size() > maxRefused()) {
        RefusedSettle dropped = refused.poll();
        refusals.remove(dropped.delivery().deliveryId());
        ((RedisDelivery) dropped.delivery()).lease().done();
        log.atWarn()
            .addKeyValue("entry_id", dropped.delivery().deliveryId())
            .log("refused settle not taken in time, dropped; its entry stays pending and is"
                + " delivered again");
      }
    }
    anyRefused = !refused.isEmpty();
    log.atWarn()
        .addKeyValue("entries", reported)
        .addKeyValue("error", RedisConnections.describe(e))
        .log("Redis refused a settle; nothing of it was written, each entry stays pending and"
            + " its consumer's policy decides");
  }

  /** The acks (entries without events) of a settle, as a settle script of their own. */
  private InFlight acksOnly(InFlight f, List<Integer> acks) {
    List<RedisDelivery> entries = new ArrayList<>(acks.size());
    List<String> ids = new ArrayList<>(acks.size() * 2);
    String lo = null;
    String hi = null;
    for (int i : acks) {
      RedisDelivery d = f.entries().get(i);
      entries.add(d);
      ids.add(d.deliveryId());
      ids.add("0");
      if (lo == null || compareIds(d.deliveryId(), lo) < 0) {
        lo = d.deliveryId();
      }
      if (hi == null || compareIds(d.deliveryId(), hi) > 0) {
        hi = d.deliveryId();
      }
    }
    List<String> args = new ArrayList<>(List.of(config.group(), config.consumer(), maxLen, lo,
        hi));
    args.addAll(ids);
    return new InFlight(null, toArray(args), entries,
        Collections.nCopies(entries.size(), List.of()), lo, hi);
  }

  /** The ids of the settle's entries still pending for this consumer, or null if unknown. */
  private Set<String> pendingAmong(InFlight f) {
    int limit = f.entries().size() * 2 + 16;
    try {
      Set<String> ids = new HashSet<>();
      for (PendingMessage p : redis.sync().xpending(config.stream(),
          Consumer.from(config.group(), config.consumer()),
          Range.create(f.lo(), f.hi()), Limit.from(limit))) {
        ids.add(p.getId());
      }
      return ids.size() < limit ? ids : null; // a full page may not hold them all
    } catch (RuntimeException e) {
      return null;
    }
  }

  private int maxRefused() {
    return 4 * config.batchSize();
  }

  /**
   * {@inheritDoc}
   *
   * <p>With {@link RedisBackendConfig#batchSettles()}, a settle that Redis refused with an
   * error reply (out of memory, say) when it was sent at a pull or flush. Its entries stay
   * pending: a settle is refused before anything of it is written (the script's first write
   * is the first refused). Settles that could not reach Redis are not refused: they stay
   * buffered and are sent again. Refusals not taken are kept up to four batches.
   */
  @Override
  public List<RefusedSettle> takeRefusedSettles() {
    if (!anyRefused) {
      return List.of();
    }
    settleLock.lock();
    try {
      List<RefusedSettle> taken = new ArrayList<>(refused);
      refused.clear();
      anyRefused = false;
      return taken;
    } finally {
      settleLock.unlock();
    }
  }

  private static boolean isNoScript(Throwable e) {
    return e.getMessage() != null && e.getMessage().startsWith("NOSCRIPT");
  }

  /** Dead-letters one entry, fenced on this consumer's ownership; counts it if written. */
  void deadLetter(String id, Map<String, String> fields, int count, String reason,
      String errorClass) {
    List<String> args = new ArrayList<>(32);
    args.add(config.group());
    args.add(config.consumer());
    args.add(id);
    args.add(deadLetterMaxLen);
    String json = fields.get(WireFormat.EVENT);
    add(args, WireFormat.ORIGINAL_ID, id);
    add(args, WireFormat.EVENT, json == null ? "" : json);
    add(args, WireFormat.REASON, reason);
    add(args, WireFormat.FAILED_AT, WireFormat.failedAt(Instant.now()));
    add(args, WireFormat.DELIVERY_COUNT, Integer.toString(count));
    add(args, WireFormat.ERROR_CLASS, errorClass);
    add(args, WireFormat.STREAM, config.stream());
    add(args, WireFormat.GROUP, config.group());
    add(args, WireFormat.CONSUMER, config.consumer());
    WireFormat.metadataFields(fields).forEach((k, v) -> add(args, k, v));
    if (json == null) {
      add(args, WireFormat.ENTRY, WireFormat.toJsonObject(fields));
    }
    long result;
    try {
      String[] argv = toArray(args);
      result = retrying(() -> redis.<Long>eval(Scripts.DEAD_LETTER, ScriptOutputType.INTEGER,
          streamAndDlq, argv));
    } catch (RuntimeException e) {
      if (isNoGroup(e)) {
        recreateGroup();
        return;
      }
      throw failure("cannot dead-letter entry " + id, e);
    }
    if (result == 1) {
      deadLettered(id, reason);
    }
  }

  private void deadLettered(String id, String reason) {
    deadLettered.increment();
    log.atWarn()
        .addKeyValue("entry_id", id)
        .addKeyValue("reason", reason)
        .addKeyValue("dead_letter_stream", config.deadLetterStream())
        .log("entry dead-lettered");
  }

  /**
   * Dead-letters an entry over the read limits, fenced on this consumer's ownership: the
   * script reads it on the server and writes a dead letter with the reason, its sizes and the
   * first {@value WireFormat#DEAD_LETTER_PREFIX_BYTES} bytes of its body, so the whole entry
   * never reaches this process.
   */
  private void deadLetterOversize(String id, int count) {
    List<Object> result;
    try {
      String failedAt = WireFormat.failedAt(Instant.now());
      result = retrying(() -> redis.eval(Scripts.DEAD_LETTER_OVERSIZE, ScriptOutputType.MULTI,
          streamAndDlq, config.group(), config.consumer(), id, failedAt,
          Integer.toString(count), deadLetterMaxLen));
    } catch (RuntimeException e) {
      if (isNoGroup(e)) {
        recreateGroup();
        return;
      }
      throw failure("cannot dead-letter entry " + id, e);
    }
    long status = ((Number) result.get(0)).longValue();
    if (status == 1) {
      deadLettered(id, (String) result.get(1));
    } else if (status == -1) {
      lost(List.of(id));
    }
  }

  /**
   * Runs an idempotent command, retrying while Redis is unreachable for at most {@link
   * RedisBackendConfig#retryTime()}, backing off from 20 ms to 1 s. Server error replies are
   * not retried.
   */
  private <T> T retrying(Supplier<T> command) {
    return retrying(command, RedisBackend::isTransient);
  }

  /**
   * Runs a command, retrying failures that {@code retryable} accepts, for at most {@link
   * RedisBackendConfig#retryTime()}.
   */
  private <T> T retrying(Supplier<T> command, Predicate<RuntimeException> retryable) {
    long deadline = System.nanoTime() + config.retryTime().toNanos();
    long backoff = TimeUnit.MILLISECONDS.toNanos(20);
    while (true) {
      try {
        return command.get();
      } catch (RuntimeException e) {
        if (!retryable.test(e) || closed || System.nanoTime() - deadline >= 0) {
          throw e;
        }
        log.atDebug().addKeyValue("error", e.toString()).log("redis unreachable; retrying");
        LockSupport.parkNanos(Math.min(backoff, Math.max(0, deadline - System.nanoTime())));
        if (Thread.currentThread().isInterrupted()) {
          throw e; // keep the interrupt flag; the caller decides
        }
        backoff = Math.min(backoff * 2, TimeUnit.SECONDS.toNanos(1));
      }
    }
  }

  /**
   * A command Lettuce refused to send because the connection is down: it reached no server,
   * so even a non-idempotent command (an enqueue) may be sent again. Lettuce says so only in
   * its message.
   */
  static boolean isUnsent(RuntimeException e) {
    return e instanceof RedisException && !(e instanceof RedisCommandExecutionException)
        && e.getMessage() != null && e.getMessage().startsWith("Currently not connected");
  }

  /** Client-side failures (disconnected, timed out) and LOADING; not server error replies. */
  static boolean isTransient(RuntimeException e) {
    if (e instanceof RedisLoadingException) {
      return true;
    }
    return e instanceof RedisException && !(e instanceof RedisCommandExecutionException);
  }

  private static void add(List<String> args, String field, String value) {
    args.add(field);
    args.add(value);
  }

  // ------------------------------------------------------------------ delayed redelivery

  /** Schedules the delivery's event, unchanged, for redelivery; see the other overload. */
  public boolean retryLater(Delivery delivery, Duration delay) {
    return retryLater(delivery, delay, delivery.event());
  }

  /**
   * Takes the delivery off the stream now and delivers {@code event} (typically the same
   * event, with metadata a retry policy updated) again as a new entry once {@code delay} has
   * passed, without blocking any reader: the event waits in a sorted set ({@link
   * RedisBackendConfig#delayedKey()}) and pulls move due ones back into the stream. Fenced
   * like a commit, in one script: done only if the entry is still pending for this consumer.
   * The new entry's delivery count starts again at 1.
   *
   * @return true if scheduled (and the entry acknowledged); false if the entry was no longer
   *     pending for this consumer
   * @throws BackendException if Redis could not do it; the entry then stays pending
   */
  public boolean retryLater(Delivery delivery, Duration delay, Event event) {
    RedisDelivery d = own(delivery);
    try {
      return scheduleNow(d, delay, event);
    } finally {
      d.lease().done(); // scheduled, refused, or left pending to be delivered again
    }
  }

  private boolean scheduleNow(RedisDelivery d, Duration delay, Event event) {
    Objects.requireNonNull(delay, "delay == null");
    Objects.requireNonNull(event, "event == null");
    if (delay.isNegative()) {
      throw new IllegalArgumentException("delay must not be negative, got " + delay);
    }
    checkOpen();
    flush(); // keep the order of settles
    String member = WireFormat.delayedMember(d.deliveryId(), event);
    long result;
    try {
      result = retrying(() -> redis.<Long>eval(Scripts.DELAY, ScriptOutputType.INTEGER,
          streamAndDelayed, config.group(), config.consumer(), d.deliveryId(),
          Long.toString(delay.toMillis()), member));
    } catch (RuntimeException e) {
      if (isNoGroup(e)) {
        recreateGroup();
        return false;
      }
      throw failure("cannot schedule entry " + d.deliveryId() + " for redelivery", e);
    }
    if (result == 1) {
      acked.increment();
      return true;
    }
    fencedCommits.increment();
    return false;
  }

  @SuppressWarnings("unchecked")
  private void moveDueDelayed(int max) {
    List<Object> result = redis.eval(Scripts.MOVE_DUE, ScriptOutputType.MULTI,
        streamDelayedAndDlq, maxLen, Integer.toString(max), deadLetterMaxLen,
        WireFormat.failedAt(Instant.now()));
    long moved = ((Number) result.get(0)).longValue();
    long dead = ((Number) result.get(1)).longValue();
    if (moved > 0) {
      enqueued.add(moved);
      log.atDebug().addKeyValue("moved", moved).log("delayed entries due: back in the stream");
    }
    if (dead > 0) {
      // Someone else wrote into the delayed set: nothing to redeliver, but never silently.
      undecodableDelayed.add(dead);
      deadLettered.add(dead);
      log.atWarn()
          .addKeyValue("delayed_key", config.delayedKey())
          .addKeyValue("dead_lettered", dead)
          .addKeyValue("dead_letter_stream", config.deadLetterStream())
          .log("delayed members that this backend cannot have written were dead-lettered");
    }
  }

  // ------------------------------------------------------------------ clean-up

  /**
   * Removes from the group the consumers, other than this one, that have nothing pending and
   * have been idle for at least {@code minIdle} (consumers of stopped processes with random
   * names accumulate otherwise). A consumer with pending entries is never removed: that would
   * discard its entries; claims hand them to live consumers first.
   *
   * @return the names of the removed consumers
   */
  public List<String> removeIdleConsumers(Duration minIdle) {
    Objects.requireNonNull(minIdle, "minIdle == null");
    checkOpen();
    List<String> removed = new ArrayList<>();
    try {
      for (Object c : redis.sync().xinfoConsumers(config.stream(), config.group())) {
        Map<String, Object> info = infoMap(c);
        String name = String.valueOf(info.get("name"));
        long idle = asLong(info.get("idle"), 0);
        long pending = asLong(info.get("pending"), 1);
        if (name.equals(config.consumer()) || pending > 0 || idle < minIdle.toMillis()) {
          continue;
        }
        long result = redis.<Long>eval(Scripts.REMOVE_IDLE_CONSUMER, ScriptOutputType.INTEGER,
            streamKey, config.group(), name);
        if (result == 1) {
          removed.add(name);
        }
      }
    } catch (RuntimeException e) {
      throw failure("cannot remove idle consumers", e);
    }
    if (!removed.isEmpty()) {
      log.atInfo().addKeyValue("consumers", removed).log("removed idle consumers");
    }
    return removed;
  }

  // ------------------------------------------------------------------ health

  /**
   * Pings Redis and reports: {@code ping_ms}, {@code stream_length}, {@code group_lag} (entries
   * not yet delivered to the group; -1 if Redis cannot tell), {@code pending} (delivered, not
   * acknowledged), {@code dead_letters}, and the counters of {@link #metrics()}. Down, with
   * the reason, when Redis does not answer.
   */
  @Override
  public BackendHealth health() {
    Map<String, Object> details = new LinkedHashMap<>();
    details.put("stream", config.stream());
    details.put("group", config.group());
    details.put("consumer", config.consumer());
    RedisBackendMetrics m = metrics();
    details.put("enqueued", m.enqueued());
    details.put("pulled", m.pulled());
    details.put("acked", m.acked());
    details.put("dead_lettered", m.deadLettered());
    details.put("reclaimed", m.reclaimed());
    details.put("reconnections", m.reconnections());
    details.put("fenced_commits", m.fencedCommits());
    details.put("lost_entries", m.lostEntries());
    details.put("undecodable_delayed", m.undecodableDelayed());
    details.put("refused_settles", m.refusedSettles());
    if (closed) {
      return BackendHealth.down("redis: closed", details);
    }
    try {
      RedisCommands<String, String> sync = redis.sync();
      long start = System.nanoTime();
      sync.ping();
      double pingMs = (System.nanoTime() - start) / 1_000_000.0;
      details.put("ping_ms", pingMs);
      long length = sync.xlen(config.stream());
      details.put("stream_length", length);
      long lag = -1;
      long pending = 0;
      boolean groupFound = false;
      for (Object g : sync.xinfoGroups(config.stream())) {
        Map<String, Object> info = infoMap(g);
        if (config.group().equals(info.get("name"))) {
          groupFound = true;
          pending = asLong(info.get("pending"), 0);
          lag = asLong(info.get("lag"), -1);
        }
      }
      details.put("group_lag", lag);
      details.put("pending", pending);
      long deadLetters = sync.xlen(config.deadLetterStream());
      details.put("dead_letters", deadLetters);
      String description = String.format(
          "redis %s stream %s: %d entries, lag %d, %d pending, %d dead letters, ping %.2f ms",
          config.redactedUrl(), config.stream(), length, lag, pending, deadLetters, pingMs);
      if (!groupFound) {
        return BackendHealth.down(description + " (group '" + config.group() + "' missing)",
            details);
      }
      return BackendHealth.up(description, details);
    } catch (RuntimeException e) {
      return BackendHealth.down("redis " + config.redactedUrl() + " unreachable: "
          + RedisConnections.describe(e), details);
    }
  }

  /** A snapshot of this backend's counters. */
  public RedisBackendMetrics metrics() {
    return new RedisBackendMetrics(enqueued.sum(), pulled.sum(), acked.sum(),
        deadLettered.sum(), reclaimed.sum(), redis.reconnections(), fencedCommits.sum(),
        lostEntries.sum(), undecodableDelayed.sum(), refusedSettles.sum());
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> infoMap(Object reply) {
    Map<String, Object> map = new LinkedHashMap<>();
    if (reply instanceof List<?> list) {
      for (int i = 0; i + 1 < list.size(); i += 2) {
        map.put(String.valueOf(list.get(i)), list.get(i + 1));
      }
    } else if (reply instanceof Map<?, ?> m) {
      m.forEach((k, v) -> map.put(String.valueOf(k), v));
    }
    return map;
  }

  private static long asLong(Object value, long fallback) {
    if (value instanceof Number n) {
      return n.longValue();
    }
    if (value instanceof String s) {
      try {
        return Long.parseLong(s);
      } catch (NumberFormatException e) {
        return fallback;
      }
    }
    return fallback;
  }

  // ------------------------------------------------------------------ lifecycle

  /**
   * Sends buffered settles (retrying for at most the retry time if Redis is unreachable),
   * stops renewing leases, then closes both connections and the client; a blocked pull
   * returns empty. Idempotent.
   */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    try {
      flush();
    } catch (RuntimeException e) {
      log.atWarn().addKeyValue("error", e.getMessage())
          .log("buffered settles lost at close; their entries will be delivered again");
    }
    if (anyRefused) {
      log.atWarn().addKeyValue("entries", takeRefusedSettles().size())
          .log("settles refused by Redis and not taken at close; their entries stay pending"
              + " and will be delivered again");
    }
    closed = true;
    leases.close(); // what is still held stays pending: claimed after the claim idle time
    redis.close();
    log.atInfo().addKeyValue("consumer", config.consumer()).log("redis backend closed");
  }

  /** The configuration, password redacted. */
  @Override
  public String toString() {
    return "RedisBackend{" + config.redactedUrl() + ", stream=" + config.stream()
        + ", group=" + config.group() + ", consumer=" + config.consumer()
        + (closed ? ", closed" : "") + "}";
  }

  // ------------------------------------------------------------------ internals

  /** Creates the group from the stream's start, with the stream; an existing group is fine. */
  private void ensureGroup() {
    try {
      redis.sync().xgroupCreate(XReadArgs.StreamOffset.from(config.stream(), "0"),
          config.group(), XGroupCreateArgs.Builder.mkstream(true));
    } catch (RedisBusyException e) {
      // BUSYGROUP: it exists already
    } catch (RedisCommandExecutionException e) {
      if (e.getMessage() == null || !e.getMessage().startsWith("BUSYGROUP")) {
        throw e;
      }
    }
  }

  private void recreateGroup() {
    log.atWarn()
        .addKeyValue("stream", config.stream())
        .addKeyValue("group", config.group())
        .log("consumer group missing (NOGROUP): re-creating it from the stream's start");
    try {
      ensureGroup();
    } catch (RuntimeException e) {
      throw failure("cannot re-create consumer group '" + config.group() + "'", e);
    }
    // Our own pending list went with the group; scanning it again costs one call.
    claimCursor = CURSOR_START;
  }

  static boolean isNoGroup(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      String m = t.getMessage();
      if (m != null && m.contains("NOGROUP")) {
        return true;
      }
    }
    return false;
  }

  private RedisDelivery own(Delivery delivery) {
    Objects.requireNonNull(delivery, "delivery == null");
    if (delivery instanceof RedisDelivery d && d.owner() == this) {
      return d;
    }
    throw new IllegalArgumentException("delivery " + delivery.deliveryId()
        + " was not pulled from this backend");
  }

  void checkOpen() {
    if (closed) {
      throw new IllegalStateException("redis backend is closed");
    }
  }

  private BackendException failure(String what, RuntimeException e) {
    if (e instanceof BackendException be) {
      return be;
    }
    return new BackendException(what + " at " + config.redactedUrl() + ": "
        + RedisConnections.describe(e), e);
  }

  private BackendException settleFailure(String what, RuntimeException e) {
    if (isNoGroup(e)) {
      recreateGroup();
    }
    return failure(what + " (it stays pending and will be delivered again)", e);
  }

  private static String[] toArray(List<String> args) {
    return args.toArray(new String[0]);
  }

  @SuppressWarnings("unchecked")
  private static Map<String, String> pairs(List<Object> flat) {
    Map<String, String> map = new LinkedHashMap<>(flat.size());
    for (int i = 0; i + 1 < flat.size(); i += 2) {
      map.put((String) flat.get(i), (String) flat.get(i + 1));
    }
    return map;
  }

  /** Compares two stream ids ({@code ms-seq}) numerically. */
  static int compareIds(String a, String b) {
    // Both parts are decimal without leading zeros: a shorter number is smaller, and numbers
    // of one length compare as strings. No parsing: this runs once per settled entry.
    int da = a.indexOf('-');
    int db = b.indexOf('-');
    int c = compareDecimal(a, 0, da, b, 0, db);
    return c != 0 ? c : compareDecimal(a, da + 1, a.length(), b, db + 1, b.length());
  }

  private static int compareDecimal(String a, int aFrom, int aTo, String b, int bFrom, int bTo) {
    int la = aTo - aFrom;
    int lb = bTo - bFrom;
    if (la != lb) {
      return Integer.compare(la, lb);
    }
    for (int i = 0; i < la; i++) {
      int c = Character.compare(a.charAt(aFrom + i), b.charAt(bFrom + i));
      if (c != 0) {
        return c;
      }
    }
    return 0;
  }

  /** The smallest stream id after {@code id}, for paging with inclusive ranges. */
  static String nextId(String id) {
    int dash = id.indexOf('-');
    long ms = Long.parseLong(id.substring(0, dash));
    long seq = Long.parseLong(id.substring(dash + 1));
    return seq == Long.MAX_VALUE ? (ms + 1) + "-0" : ms + "-" + (seq + 1);
  }
}
