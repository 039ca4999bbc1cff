package io.necrostack.redis;

import io.lettuce.core.ScriptOutputType;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The leases of the entries delivered to this consumer and not settled yet, renewed so that
 * no other consumer claims an entry this one still holds: read ahead, waiting in the Spine's
 * batch, or being handled.
 *
 * <p>An entry's idle time, which claims compare with the claim idle time, counts from its
 * delivery; a consumer holding a batch of slow handlings would otherwise see the tail of it
 * claimed (and handled twice) before it even started on it. Every quarter of the claim idle
 * time a thread of its own resets the idle time of every entry still held ({@link
 * Scripts#RENEW}: fenced on ownership, the delivery count unchanged), except:
 *
 * <ul>
 *   <li>an entry whose handling started longer ago than the limit the Spine gave ({@link
 *       #started}): a handling stuck past its timeout lets its entry be claimed, as a crash
 *       would;
 *   <li>entries not started while the consumer makes no progress (no entry delivered,
 *       started or settled) for the longest handling limit seen, at least the claim idle
 *       time: a consumer stuck on one handling does not keep the rest of its batch forever.
 * </ul>
 *
 * <p>The hot path never reads the clock and takes no lock: one small object per entry, a
 * compare-and-swap when its handling starts and when it is settled, a set insertion and
 * removal per read. The renewer notes when it first sees a handling started (at most a
 * renewal period late, so a lease lasts up to that much longer than its limit).
 */
final class Leases implements AutoCloseable {
  /** Renewals per claim idle time: up to three may fail or run late before a lease lapses. */
  static final int RENEWALS_PER_IDLE_TIME = 4;
  /** Most entries per renewal script; each costs two lookups and a share of one XCLAIM. */
  static final int MAX_IDS_PER_RENEWAL = 1000;

  private static final Logger log = LoggerFactory.getLogger(Leases.class);
  private static final int WAITING = 0;
  private static final int STARTED = 1;
  private static final int DONE = 2;
  private static final long NO_LIMIT = Long.MAX_VALUE;
  private static final VarHandle PHASE;

  static {
    try {
      PHASE = MethodHandles.lookup().findVarHandle(Lease.class, "phase", int.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  private final RedisBackendConfig config;
  private final RedisConnections redis;
  private final String[] streamKey;
  private final long periodNanos;
  private final Set<Batch> held = ConcurrentHashMap.newKeySet();
  /** Bumped when a batch is held or finished: progress the renewer cannot see otherwise. */
  private final AtomicLong changes = new AtomicLong();
  private ScheduledThreadPoolExecutor timer;
  private volatile boolean closed;

  // The renewer's own state: one thread at a time (the timer's, or a test's).
  private long seenChanges = -1;
  private long lastProgress;
  private long patience;
  private boolean failing;

  /** Not started: {@link #start()} begins renewing. */
  Leases(RedisBackendConfig config, RedisConnections redis) {
    this.config = config;
    this.redis = redis;
    this.streamKey = new String[] {config.stream()};
    this.periodNanos = Math.max(TimeUnit.MILLISECONDS.toNanos(1),
        config.claimIdleTime().toNanos() / RENEWALS_PER_IDLE_TIME);
    this.patience = config.claimIdleTime().toNanos();
    this.lastProgress = System.nanoTime();
  }

  /** Starts renewing on a daemon thread of its own, every quarter of the claim idle time. */
  void start() {
    timer = new ScheduledThreadPoolExecutor(1, r -> {
      Thread t = new Thread(r, "necrostack-leases-" + config.consumer());
      t.setDaemon(true);
      return t;
    });
    timer.scheduleWithFixedDelay(this::renewQuietly, periodNanos, periodNanos,
        TimeUnit.NANOSECONDS);
  }

  /** A batch to hold {@code capacity} entries at most; {@link Batch#hold()} publishes it. */
  Batch batch(int capacity) {
    return new Batch(this, capacity);
  }

  /** How many entries are held (tests). */
  int heldCount() {
    int n = 0;
    for (Batch b : held) {
      n += b.open.get();
    }
    return n;
  }

  /** Entries delivered together; forgotten once every one of them is settled. */
  static final class Batch {
    private final Leases owner;
    private final Lease[] leases;
    private int size;
    private final AtomicInteger open = new AtomicInteger();

    private Batch(Leases owner, int capacity) {
      this.owner = owner;
      this.leases = new Lease[capacity];
    }

    /** Adds an entry, before {@link #hold()}. */
    Lease add(String id) {
      Lease lease = new Lease(id, this);
      leases[size++] = lease;
      return lease;
    }

    /** Starts renewing the entries added; settling them all forgets the batch. */
    void hold() {
      if (size == 0) {
        return;
      }
      open.set(size);
      owner.held.add(this);
      owner.changes.incrementAndGet();
    }

    private void settledOne() {
      if (open.decrementAndGet() == 0) {
        owner.held.remove(this);
        owner.changes.incrementAndGet();
      }
    }
  }

  /** One entry's lease: waiting, its handling started, or done (settled, given back, lost). */
  static final class Lease {
    final String id;
    private final Batch batch;
    @SuppressWarnings("unused") // through PHASE
    private volatile int phase;
    /** Written before the phase turns STARTED, read after. */
    private long limitNanos;
    // The renewer's own.
    private int seenPhase = -1;
    private long startedAt;
    private boolean gone;

    private Lease(String id, Batch batch) {
      this.id = id;
      this.batch = batch;
    }

    /** Its handling started: renewed for at most {@code limitNanos} more; 0 for no bound. */
    void started(long limitNanos) {
      this.limitNanos = limitNanos > 0 ? limitNanos : NO_LIMIT;
      PHASE.compareAndSet(this, WAITING, STARTED);
    }

    /**
     * No longer renewed: settled (whatever the outcome; a settle that failed leaves the entry
     * pending, to be claimed and delivered again), given back, or no longer this consumer's.
     */
    void done() {
      if ((int) PHASE.getAndSet(this, DONE) != DONE) {
        batch.settledOne();
      }
    }
  }

  /**
   * The leases to renew now, noting handlings started and progress since the last call.
   * Called by the renewer only.
   */
  List<Lease> due(long now) {
    long seen = changes.get();
    boolean progress = seen != seenChanges;
    seenChanges = seen;
    List<Lease> due = new ArrayList<>();
    List<Lease> waiting = new ArrayList<>();
    for (Batch batch : held) {
      for (int i = 0; i < batch.size; i++) {
        Lease lease = batch.leases[i];
        int phase = (int) PHASE.getAcquire(lease);
        if (phase != lease.seenPhase) {
          progress = true;
          lease.seenPhase = phase;
          if (phase == STARTED) {
            lease.startedAt = now;
            patience = Math.max(patience, lease.limitNanos);
          }
        }
        if (phase == DONE || lease.gone) {
          continue;
        }
        if (phase == WAITING) {
          waiting.add(lease);
        } else if (lease.limitNanos == NO_LIMIT || now - lease.startedAt < lease.limitNanos) {
          due.add(lease);
        }
      }
    }
    if (progress) {
      lastProgress = now;
    }
    if (patience == NO_LIMIT || now - lastProgress < patience) {
      due.addAll(waiting);
    }
    return due;
  }

  /** One renewal round: resets the idle time of every lease due. */
  void renew() {
    List<Lease> due = due(System.nanoTime());
    for (int from = 0; from < due.size() && !closed; from += MAX_IDS_PER_RENEWAL) {
      List<Lease> chunk = due.subList(from, Math.min(due.size(), from + MAX_IDS_PER_RENEWAL));
      String[] args = new String[2 + chunk.size()];
      args[0] = config.group();
      args[1] = config.consumer();
      Map<String, Lease> byId = new HashMap<>(chunk.size() * 2);
      for (int i = 0; i < chunk.size(); i++) {
        Lease lease = chunk.get(i);
        args[2 + i] = lease.id;
        byId.put(lease.id, lease);
      }
      List<Object> reply = redis.eval(Scripts.RENEW, ScriptOutputType.MULTI, streamKey, args);
      for (Object id : (List<?>) reply.get(0)) {
        // Settled meanwhile, or claimed by another consumer after a lapse: not ours to renew.
        Lease lease = byId.get(String.valueOf(id));
        if (lease != null) {
          lease.done();
        }
      }
      for (Object id : (List<?>) reply.get(1)) {
        Lease lease = byId.get(String.valueOf(id));
        if (lease != null) {
          lease.gone = true; // its settle finds it pending, as it would have without leases
        }
      }
    }
  }

  private void renewQuietly() {
    try {
      renew();
      if (failing) {
        failing = false;
        log.atInfo().addKeyValue("consumer", config.consumer()).log("lease renewal resumed");
      }
    } catch (RuntimeException e) {
      if (closed) {
        return;
      }
      // Unreachable Redis: the entries' idle time grows; past the claim idle time another
      // consumer may claim them, and this one's settles are then fenced.
      if (!failing) {
        failing = true;
        log.atWarn()
            .addKeyValue("consumer", config.consumer())
            .addKeyValue("error", RedisConnections.describe(e))
            .log("lease renewal failed; retrying every renewal period");
      } else {
        log.atDebug().addKeyValue("error", e.toString()).log("lease renewal failed");
      }
    }
  }

  /** Stops renewing; the entries still held stay pending and are claimed after the idle time. */
  @Override
  public void close() {
    closed = true;
    if (timer != null) {
      timer.shutdownNow();
    }
  }
}
