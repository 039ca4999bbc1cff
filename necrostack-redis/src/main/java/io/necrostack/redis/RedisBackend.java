package io.necrostack.redis;

import io.lettuce.core.Consumer;
import io.lettuce.core.RedisBusyException;
import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisException;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.RedisLoadingException;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.StreamMessage;
import io.lettuce.core.XGroupCreateArgs;
import io.lettuce.core.XReadArgs;
import io.lettuce.core.api.sync.RedisCommands;
import io.necrostack.backend.Backend;
import io.necrostack.backend.BackendException;
import io.necrostack.backend.BackendHealth;
import io.necrostack.backend.DeadLetterStore;
import io.necrostack.backend.DelayedRedelivery;
import io.necrostack.backend.Delivery;
import io.necrostack.backend.LeaseRenewal;
import io.necrostack.core.Event;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
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
 * <p><b>Leases.</b> An entry's idle time counts from its delivery, so without more a
 * consumer holding a batch of slow handlings would see its tail claimed by others before it
 * started on it. So this backend renews ({@link LeaseRenewal}) every entry delivered to it
 * and not yet settled or {@linkplain #release released} — read ahead, waiting in the Spine's
 * batch, or being handled — every quarter of the claim idle time, in one fenced script per
 * round on its own thread ({@code XCLAIM ... JUSTID} to itself: idle time reset, delivery
 * count unchanged, never an entry another consumer owns). A handling is renewed only for the
 * limit the Spine gives when it starts (what its handler timeouts and retries allow): a
 * handler stuck past it lets its entry be claimed. Entries not started are renewed while the
 * consumer makes progress, so one stuck handling does not hold the rest of its batch for
 * ever. A crashed consumer renews nothing: its entries are claimed after the claim idle time.
 *
 * <p><b>Settling.</b> {@link #commit} writes the emitted events and acknowledges the handled
 * entry in one Lua script, <em>fenced</em>: only if the entry is still pending for this
 * consumer. The guarantee: the emitted events are written, in order, if and only if the
 * handled entry is acknowledged, atomically; an entry claimed by another consumer (because
 * this one's handling was stuck past its limit, see <em>Leases</em>) is not committed here,
 * and the other consumer's handling alone emits. A crash before the commit runs leaves
 * nothing written; the entry is redelivered. {@link #ack} is a commit without events. By default ({@link
 * RedisBackendConfig#batchSettles()}) acks and commits are buffered and sent together in one
 * such script at the next pull, not waited for (at most two in flight; the next send, an
 * idle pull, {@link #flush()} or {@link #close()} awaits them), so a crash may lose settles
 * made since the last pull (those entries are delivered again, nothing of theirs written);
 * {@link #flush()} sends them now, {@link #tryCommit} commits now and says whether it did. {@link #ackAll} runs one {@code XACK}
 * now. {@link #nack} dead-letters the entry at once with the reason. {@link #retryLater}
 * schedules it for a later redelivery. {@link #release} stops renewing: the entries stay
 * pending and are claimed again after the claim idle time. If Redis loses acknowledged
 * writes (no persistence, failover), these guarantees hold only for what it kept.
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
    implements Backend, DelayedRedelivery, DeadLetterStore, LeaseRenewal {
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
  private final String maxLen;
  private final Consumer<String> consumer;
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

  /** An entry decoded off the Spine's thread: the event, or why it is malformed; its lease. */
  private record Parsed(String id, Map<String, String> fields, Event event,
      WireFormat.MalformedEntryException malformed, Leases.Lease lease) {}

  // Settle buffer (batched settles), guarded by settleLock.
  private final ReentrantLock settleLock = new ReentrantLock();
  private final List<String> settleArgs = new ArrayList<>();
  private final List<RedisDelivery> settleEntries = new ArrayList<>();
  private final List<Integer> settleEventCounts = new ArrayList<>();
  private long settleChars;
  /** Settle scripts sent and not yet awaited, oldest first; at most MAX_SETTLES_IN_FLIGHT. */
  private final ArrayDeque<InFlight> inFlight = new ArrayDeque<>();
  /**
   * Two, so the Spine hands a full buffer over and goes on while Redis still runs the one
   * before (with one, the end of every batch waited for the previous batch's settle).
   */
  private static final int MAX_SETTLES_IN_FLIGHT = 2;

  /** A settle script sent asynchronously, with what is needed to re-run and account for it. */
  private record InFlight(RedisFuture<List<Object>> future, String[] argv,
      List<RedisDelivery> entries, List<Integer> counts) {}

  private final LongAdder enqueued = new LongAdder();
  private final LongAdder pulled = new LongAdder();
  private final LongAdder acked = new LongAdder();
  private final LongAdder deadLettered = new LongAdder();
  private final LongAdder reclaimed = new LongAdder();
  private final LongAdder fencedCommits = new LongAdder();
  private final LongAdder lostEntries = new LongAdder();

  private RedisBackend(RedisBackendConfig config) {
    this.config = config;
    this.redis = new RedisConnections(config);
    this.streamKey = new String[] {config.stream()};
    this.streamAndDlq = new String[] {config.stream(), config.deadLetterStream()};
    this.streamAndDelayed = new String[] {config.stream(), config.delayedKey()};
    this.maxLen = Long.toString(config.maxLength());
    this.consumer = Consumer.from(config.group(), config.consumer());
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
      // settles are in flight; the next send, an idle pull or close() awaits them, and a
      // failed one is retried then (fenced, so entries it did settle are skipped).
      send(false);
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
          flush(); // idle: account for (and if need be retry) the settle in flight now
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
      if (count > config.maxDeliveries()) {
        deadLetter(id, fields, count,
            "exceeded max deliveries: delivery " + count + " > " + config.maxDeliveries(),
            "MaxDeliveriesExceeded");
        continue;
      }
      Leases.Batch batch = leases.batch(1);
      Leases.Lease lease = batch.add(id);
      batch.hold(); // before deliver(), which may settle it at once
      Delivery d = deliver(parse(id, fields, lease), count);
      if (d != null) {
        out.add(d);
      }
    }
    if (!deleted.isEmpty()) {
      lostEntries.add(deleted.size());
      log.atWarn()
          .addKeyValue("stream", config.stream())
          .addKeyValue("ids", deleted)
          .log("pending entries were deleted or trimmed from the stream before being handled");
    }
  }

  /**
   * Reads new entries into {@code out}: first those read ahead beyond an earlier pull's
   * count, then the read sent ahead (waiting for it at most until the deadline, else keeping
   * it for the next pull), else a read sent now. Once a read returns entries, the next one is
   * sent at once ({@link RedisBackendConfig#readAhead()}).
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
        read = sendRead(max, block);
      }
      List<Parsed> entries = await(read, deadline);
      if (entries == null) {
        readAheadRead = read; // still blocking at the server: the next pull goes on waiting
        return;
      }
      surplus.addAll(entries);
    }
    while (out.size() < max && !surplus.isEmpty()) {
      Parsed p = surplus.poll();
      Delivery d = deliver(p, 1);
      if (d != null) {
        out.add(d);
      }
    }
    // A full batch means a backlog: read the next one while this one is handled. A short
    // batch means the stream is caught up; reading ahead would only add a round trip.
    if (config.readAhead() && out.size() >= max && surplus.isEmpty() && readAheadRead == null
        && !closed) {
      // Without BLOCK: it takes only what is in the stream already. A blocking one would
      // take entries as they arrive while the Spine is busy, holding them pending here.
      readAheadRead = sendRead(max, Duration.ZERO);
    }
  }

  /** Sends one XREADGROUP; its entries are decoded on Lettuce's I/O thread as they arrive. */
  @SuppressWarnings("unchecked") // the varargs of one StreamOffset<String>
  private PendingRead sendRead(int max, Duration block) {
    XReadArgs args = XReadArgs.Builder.count(max);
    if (!block.isZero()) {
      args.block(block);
    }
    RedisFuture<List<StreamMessage<String, String>>> command =
        redis.reader().async().xreadgroup(consumer, args,
            XReadArgs.StreamOffset.lastConsumed(config.stream()));
    // Decoding is most of a read's client-side cost: on the I/O thread it overlaps with the
    // Spine's handling. Nothing here talks to Redis (dead-lettering happens in deliver()).
    // The entries are held, and their leases renewed, from here on: a batch read ahead may
    // wait longer than the claim idle time before a pull takes it.
    CompletableFuture<List<Parsed>> parsed =
        command.toCompletableFuture().thenApply(messages -> parse(messages, leases));
    return new PendingRead(command, parsed, System.nanoTime(), redis.readTimeout(block));
  }

  private static List<Parsed> parse(List<StreamMessage<String, String>> messages,
      Leases leases) {
    if (messages == null || messages.isEmpty()) {
      return List.of();
    }
    List<Parsed> parsed = new ArrayList<>(messages.size());
    Leases.Batch batch = leases.batch(messages.size());
    for (StreamMessage<String, String> m : messages) {
      Map<String, String> body = m.getBody();
      if (body == null) {
        continue; // only history reads return deleted entries; '>' never does
      }
      parsed.add(parse(m.getId(), body, batch.add(m.getId())));
    }
    batch.hold();
    return parsed;
  }

  /** Decodes one entry into its event, or keeps why it is malformed. Talks to no one. */
  private static Parsed parse(String id, Map<String, String> fields, Leases.Lease lease) {
    try {
      return new Parsed(id, fields, WireFormat.decode(fields), null, lease);
    } catch (WireFormat.MalformedEntryException e) {
      return new Parsed(id, fields, null, e, lease);
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
      throw cause instanceof RuntimeException re ? re : new BackendException("read failed", cause);
    } catch (TimeoutException e) {
      if (System.nanoTime() - timeoutAt < 0) {
        return null;
      }
      read.command().cancel(true);
      throw new BackendException("read timed out after " + read.timeout(), e);
    } catch (InterruptedException e) {
      // Entries the server hands out now stay pending; a later claim round delivers them.
      read.command().cancel(true);
      throw e;
    }
  }

  /**
   * The delivery for an entry, or null after dead-lettering a malformed one or one whose
   * earlier delayed redeliveries ({@value #PRIOR_DELIVERIES}) used up its max deliveries.
   */
  private Delivery deliver(Parsed entry, int count) {
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
    return new RedisDelivery(event, count, entry.id(), this, entry.lease());
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
      settleEventCounts.add(emitted.size());
      settleArgs.add(d.deliveryId());
      settleArgs.add(Integer.toString(emitted.size()));
      settleChars += appendEvents(emitted, settleArgs);
      if (settleEntries.size() >= config.batchSize() || settleArgs.size() >= MAX_SETTLE_ARGS
          || settleChars >= MAX_SCRIPT_CHARS) {
        sendLocked(false);
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
   * has work, and a settle that fills the buffer, send without waiting.
   *
   * @throws BackendException if Redis stayed unreachable for the retry time; the buffered
   *     entries then stay pending and are delivered again, and nothing of theirs was written
   */
  public void flush() {
    send(true);
  }

  /** Sends the buffered settles, waiting for every settle in flight if {@code wait}. */
  private void send(boolean wait) {
    settleLock.lock();
    try {
      sendLocked(wait);
    } finally {
      settleLock.unlock();
    }
  }

  /**
   * Sends the buffered settles, then awaits every settle script in flight if {@code wait}.
   * At most {@value #MAX_SETTLES_IN_FLIGHT} scripts are in flight (the oldest is awaited
   * before another is sent), so memory stays bounded; they run in order on one connection.
   */
  private void sendLocked(boolean wait) {
    // Finished scripts are accounted for now (no wait), and one that failed or was never
    // sent is retried before the next is sent, so settles, and the events they write, stay
    // in order; one still running is ahead of the next on the same connection anyway.
    InFlight oldest;
    while ((oldest = inFlight.peek()) != null
        && (oldest.future() == null || oldest.future().isDone()
            || (inFlight.size() >= MAX_SETTLES_IN_FLIGHT && !settleEntries.isEmpty()))) {
      awaitOldestLocked();
    }
    if (settleEntries.isEmpty()) {
      if (wait) {
        awaitInFlightLocked();
      }
      return;
    }
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
    String[] argv = toArray(args);
    List<RedisDelivery> entries = new ArrayList<>(settleEntries);
    List<Integer> counts = new ArrayList<>(settleEventCounts);
    settleEntries.clear();
    settleEventCounts.clear();
    settleArgs.clear();
    settleChars = 0;
    RedisFuture<List<Object>> future;
    try {
      future = redis.commands().async().evalsha(redis.sha(Scripts.SETTLE_MANY),
          ScriptOutputType.MULTI, streamKey, argv);
    } catch (RuntimeException e) {
      future = null; // not sent: the synchronous path below retries
    }
    inFlight.add(new InFlight(future, argv, entries, counts));
    if (wait) {
      awaitInFlightLocked();
    }
  }

  /**
   * Accounts for the settle script in flight. If it failed in any way (disconnected, timed
   * out, NOSCRIPT after a restart), it is run again synchronously with retries: that is safe
   * because every settle in it is fenced, so entries it did settle are skipped the second time.
   */
  @SuppressWarnings("unchecked")
  private void awaitInFlightLocked() {
    while (!inFlight.isEmpty()) {
      awaitOldestLocked();
    }
  }

  /** Accounts for the oldest settle script in flight, waiting for it if need be. */
  private void awaitOldestLocked() {
    InFlight f = inFlight.poll();
    if (f == null) {
      return;
    }
    try {
      accountLocked(f);
    } finally {
      // Settled, refused, or left pending to be delivered again: not renewed any more.
      for (RedisDelivery d : f.entries()) {
        d.lease().done();
      }
    }
  }

  @SuppressWarnings("unchecked")
  private void accountLocked(InFlight f) {
    List<Object> results = null;
    if (f.future() != null) {
      try {
        results = f.future().get(config.commandTimeout().toMillis() + 1000,
            TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        log.atWarn().addKeyValue("entries", f.entries().size())
            .log("interrupted while settling; those entries may be delivered again");
        return;
      } catch (ExecutionException | TimeoutException e) {
        log.atDebug().addKeyValue("error", e.toString()).log("async settle failed; retrying");
        if (e.getCause() != null && isNoScript(e.getCause())) {
          redis.forget(Scripts.SETTLE_MANY);
        }
      }
    }
    if (results == null) {
      try {
        results = retrying(() -> redis.<List<Object>>eval(Scripts.SETTLE_MANY,
            ScriptOutputType.MULTI, streamKey, f.argv()));
      } catch (RuntimeException e) {
        if (isNoGroup(e)) {
          recreateGroup(); // the pending list went with the group: nothing of ours to settle
          fencedCommits.add(f.entries().size());
          return;
        }
        throw failure("cannot settle " + f.entries().size()
            + " entries (they stay pending and will be delivered again)", e);
      }
    }
    for (int i = 0; i < f.entries().size(); i++) {
      if (((Number) results.get(i)).longValue() == 1) {
        acked.increment();
        enqueued.add(f.counts().get(i));
      } else {
        fencedCommits.increment();
        RedisDelivery d = f.entries().get(i);
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
      deadLettered.increment();
      log.atWarn()
          .addKeyValue("entry_id", id)
          .addKeyValue("reason", reason)
          .addKeyValue("dead_letter_stream", config.deadLetterStream())
          .log("entry dead-lettered");
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

  private void moveDueDelayed(int max) {
    long moved = redis.<Long>eval(Scripts.MOVE_DUE, ScriptOutputType.INTEGER, streamAndDelayed,
        maxLen, Integer.toString(max));
    if (moved > 0) {
      enqueued.add(moved);
      log.atDebug().addKeyValue("moved", moved).log("delayed entries due: back in the stream");
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
        lostEntries.sum());
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
