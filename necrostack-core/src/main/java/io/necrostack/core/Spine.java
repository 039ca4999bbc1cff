package io.necrostack.core;

import io.necrostack.backend.Backend;
import io.necrostack.backend.BackendException;
import io.necrostack.backend.BackendHealth;
import io.necrostack.backend.BufferedSettles;
import io.necrostack.backend.DeadLetterStore;
import io.necrostack.backend.Delivery;
import io.necrostack.backend.Drainable;
import io.necrostack.backend.LeaseRenewal;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.invoke.VarHandle;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The dispatcher: pulls events from a backend, routes each to the organs that listen to its
 * type, and enqueues what they emit.
 *
 * <p>For each event, every organ listening to its type is called in registration order; the
 * events they emit are stamped with metadata (correlation id inherited from the cause, or the
 * cause's id; causation id = the cause's id; depth = the cause's depth + 1) and enqueued in
 * order, together with the acknowledgement of the handled event ({@link Backend#commit}).
 *
 * <p><b>Concurrency and ordering.</b> By default one event is handled at a time, in the
 * backend's order: deterministic, as the Python original; the Spine pulls up to {@code
 * batchSize} events at once and handles them in order on its own thread (on stop, what it
 * pulled but did not handle is given back). With {@code concurrency(n)} above 1 up to n
 * events are in flight at once, on a pool of n workers (virtual threads where the JDK has
 * them, 21+), kept between runs and shut down by {@link #close()}; an event still queued for
 * a worker when the Spine stops is given back. Backpressure: the Spine holds at most {@code
 * max(batchSize, concurrency)} events at once (in flight or waiting for a worker) and never
 * pulls more than that capacity minus what it holds. With an ordering key (metadata {@value
 * #ORDERING_KEY}, or a function), events sharing a key are handled one at a time in arrival
 * order while different keys run in parallel.
 *
 * <p><b>Failures</b> follow policies (see {@link HandlerPolicy}, {@link RetryPolicy}, {@link
 * FailureOutcome}, {@link EmitFailurePolicy}). Defaults: a 30 s handler timeout, no retry,
 * LOG after a failure (count, log, the other organs still run, the event is acknowledged), and
 * FAIL when the backend refuses emitted events (the handled event is given back, the Spine
 * stops with a {@link SpineException}). A retry waits as a scheduled continuation, never a
 * sleep; an organ that already succeeded for the event is not run again by the retry of a
 * later organ. At concurrency 1 the Spine is strictly ordered, so a retry's backoff holds back
 * the events behind it; raise the concurrency (with ordering keys where order matters) to let
 * other events pass a retrying one. Failed pulls back off exponentially (10 ms doubling to
 * 1 s) and are retried; a success resets the count. On a drainable backend (in memory) the
 * Spine stops with {@link BackendUnavailableException} after {@code maxPullFailures} (default
 * {@value #DEFAULT_MAX_PULL_FAILURES}) in a row; on others (durable: Redis) the bound is off
 * by default, so an outage is ridden out however long it lasts: the Spine reports itself not
 * {@link SpineHealth#ready() ready} meanwhile and resumes on its own when pulls succeed.
 *
 * <p><b>Loop protection.</b> A run processes at most {@code maxSteps} events; past it, {@link
 * MaxStepsExceededException} is thrown once in-flight work is settled. The bound defaults to
 * {@value #DEFAULT_MAX_STEPS} for a drainable backend, where a run is a finite chain, and is
 * off for other (durable) backends, where a Spine serves for days. There the per-chain bound
 * applies: an emitted event deeper than {@code maxDepth} (default {@value #DEFAULT_MAX_DEPTH})
 * is dead-lettered with reason "max depth exceeded" and the Spine keeps running.
 *
 * <p><b>Lifecycle.</b> {@link #run(Event...)} enqueues start events and processes until the
 * backend is drained (when it is {@link Drainable}, like the in-memory one) or until {@link
 * #stop()}; {@link #start(Event...)} does the same on a background thread. Stopping pulls
 * nothing more, finishes in-flight events (bounded by the drain timeout) and gives back to the
 * backend the events it pulled but did not handle: none is fetched and then dropped.
 */
public final class Spine implements AutoCloseable {
  /** Default bound on events per run, for drainable backends. */
  public static final long DEFAULT_MAX_STEPS = 10_000;

  /** Default bound on the depth of a chain of events. */
  public static final int DEFAULT_MAX_DEPTH = 1_000;

  /** Default longest wait of one pull, before the loop checks for stop and drain again. */
  public static final Duration DEFAULT_POLL_TIMEOUT = Duration.ofMillis(100);

  /** Default number of events pulled at once. */
  public static final int DEFAULT_BATCH_SIZE = 64;

  /**
   * Default number of failed pulls in a row after which a Spine on a drainable backend stops;
   * on other (durable) backends there is no such bound unless set.
   */
  public static final int DEFAULT_MAX_PULL_FAILURES = 10;

  /** Default bound on waiting for in-flight work when stopping. */
  public static final Duration DEFAULT_DRAIN_TIMEOUT = Duration.ofSeconds(30);

  /** Metadata key of the default ordering key. */
  public static final String ORDERING_KEY = "ordering_key";

  final Logger log = LoggerFactory.getLogger(Spine.class);
  private static final long BACKOFF_START_NANOS = TimeUnit.MILLISECONDS.toNanos(10);
  private static final long BACKOFF_MAX_NANOS = TimeUnit.SECONDS.toNanos(1);
  /** The longest pull while events are in flight on a drainable backend; see pullWait. */
  private static final Duration IN_FLIGHT_POLL = Duration.ofMillis(1);

  private final List<Organ> organs;
  private final List<OrganRuntime> runtimes;
  private final Map<String, OrganRuntime[]> routes;
  final Backend backend;
  /** The backend's lease renewal, told when each handling starts; null if it has none. */
  final LeaseRenewal leases;
  /** The longest one event's handling may take by the organs' policies; zero: no bound. */
  final Duration handlingLimit;
  private final long maxSteps;
  final int maxDepth;
  private final Duration pollTimeout;
  private final int batchSize;
  private final int maxPullFailures;
  /** Failed pulls in a row now, for health(); written only when it changes. */
  private volatile int pullFailuresNow;
  private final Duration drainTimeout;
  private final boolean ownsBackend;
  private final int concurrency;
  /** The most events held at once, in flight or waiting for a slot. */
  private final int capacity;
  private final Function<Event, String> orderingKey;
  final EmitFailurePolicy emitFailurePolicy;
  private final DeadLetters deadLetters;
  private final List<HandlingObserver> observers;
  /** When the last handling began (System.nanoTime), 0 before any; written opaquely. */
  private long lastEventNanos;
  private static final VarHandle LAST_EVENT;

  static {
    try {
      LAST_EVENT = MethodHandles.lookup().findVarHandle(Spine.class, "lastEventNanos",
          long.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }
  private volatile String lastError;

  private final AtomicBoolean running = new AtomicBoolean();
  /** Above concurrency 1, the workers, kept between runs; guarded by this. */
  private ExecutorService workerPool;
  private static final long WORKER_KEEP_ALIVE_SECONDS = 30;
  private volatile boolean stopRequested;
  /** When stop() or a failure asked the current run to stop (System.nanoTime), else 0. */
  private volatile long stopRequestedNanos;
  private volatile CountDownLatch terminated = new CountDownLatch(0);
  private final Object backoffMonitor = new Object();

  /** Concurrency 1: one handling at a time, on the loop thread (or a retry's continuation). */
  final boolean serial;
  // Written only by handlings: single-writer tallies when serial (see Tally).
  final Tally processed;
  final Tally emitted;
  final Tally retried;
  final Tally deadLettered;
  final Tally timedOut;
  final Tally nacked;
  private final LongAdder backendErrors = new LongAdder();
  private final LongAdder ackErrors = new LongAdder();
  private final LongAdder rejected = new LongAdder();
  private final AtomicInteger inFlight = new AtomicInteger();
  private final Map<String, LongAdder> handlerErrors = new ConcurrentHashMap<>();
  private final Map<String, LongAdder> enqueueFailures = new ConcurrentHashMap<>();
  private final Map<String, LongAdder> unhandled = new ConcurrentHashMap<>();

  private Spine(Builder b) {
    this.organs = List.copyOf(b.organs);
    this.backend = b.backend;
    this.maxSteps =
        b.maxSteps != null
            ? b.maxSteps
            : (backend instanceof Drainable ? DEFAULT_MAX_STEPS : Long.MAX_VALUE);
    this.maxDepth = b.maxDepth;
    this.pollTimeout = b.pollTimeout;
    this.batchSize = b.batchSize;
    this.maxPullFailures =
        b.maxPullFailures != null
            ? b.maxPullFailures
            : (backend instanceof Drainable ? DEFAULT_MAX_PULL_FAILURES : Integer.MAX_VALUE);
    this.drainTimeout = b.drainTimeout;
    this.ownsBackend = b.ownsBackend;
    this.concurrency = b.concurrency;
    this.serial = b.concurrency == 1;
    this.processed = Tally.of(serial);
    this.emitted = Tally.of(serial);
    this.retried = Tally.of(serial);
    this.deadLettered = Tally.of(serial);
    this.timedOut = Tally.of(serial);
    this.nacked = Tally.of(serial);
    this.capacity = Math.max(b.batchSize, b.concurrency);
    this.orderingKey = b.orderingKey;
    this.emitFailurePolicy = b.emitFailurePolicy;
    this.deadLetters =
        b.deadLetters != null
            ? b.deadLetters
            : backend instanceof DeadLetterStore store
                ? store.deadLetters()
                : new InMemoryDeadLetters();
    this.observers = List.copyOf(b.observers);
    List<OrganRuntime> list = new ArrayList<>();
    Map<String, List<OrganRuntime>> byType = new LinkedHashMap<>();
    for (Organ organ : organs) {
      OrganRuntime runtime =
          new OrganRuntime(organ, b.organPolicies.getOrDefault(organ.name(), b.handlerPolicy),
              serial);
      list.add(runtime);
      for (String type : organ.listensTo()) {
        byType.computeIfAbsent(type.strip(), t -> new ArrayList<>()).add(runtime);
      }
    }
    this.runtimes = List.copyOf(list);
    Map<String, OrganRuntime[]> table = new HashMap<>();
    byType.forEach((type, l) -> table.put(type, l.toArray(new OrganRuntime[0])));
    this.routes = table;
    this.leases = backend instanceof LeaseRenewal renewal ? renewal : null;
    this.handlingLimit = longestHandling(table.values());
  }

  /**
   * The longest the handling of one event may take: over every route, its organs' attempts
   * one after the other, each under its timeout, with the retry waits between them. Zero
   * when some organ has no timeout: then a handling has no bound.
   */
  static Duration longestHandling(Iterable<OrganRuntime[]> routes) {
    long longest = 0;
    for (OrganRuntime[] route : routes) {
      long sum = 0;
      for (OrganRuntime organ : route) {
        sum += organ.longestHandlingNanos;
        if (sum < 0 || organ.longestHandlingNanos == Long.MAX_VALUE) {
          return Duration.ZERO;
        }
      }
      longest = Math.max(longest, sum);
    }
    return Duration.ofNanos(longest);
  }

  /** A builder with the defaults named by this class's constants. */
  public static Builder builder() {
    return new Builder();
  }

  // ------------------------------------------------------------------ running

  /**
   * Enqueues the start events, then processes events on the calling thread until the backend
   * is drained (for a {@link Drainable} backend) or {@link #stop()} is called.
   *
   * @return the statistics at the end of the run
   * @throws MaxStepsExceededException if more than {@code maxSteps} events were waiting
   * @throws BackendUnavailableException if the backend failed too many pulls in a row
   * @throws SpineException if an emission was refused, an organ with the FAIL outcome failed,
   *     or an organ failed to start
   * @throws IllegalStateException if the Spine is already running
   */
  public SpineStats run(Event... startEvents) {
    begin();
    try {
      enqueueStart(startEvents);
      new Run().loop();
      return stats();
    } finally {
      end();
    }
  }

  /**
   * Like {@link #run(Event...)}, on a background thread. The future completes with the
   * statistics when the Spine stops, or exceptionally with what stopped it.
   *
   * @throws IllegalStateException if the Spine is already running
   */
  public CompletableFuture<SpineStats> start(Event... startEvents) {
    begin();
    CompletableFuture<SpineStats> result = new CompletableFuture<>();
    Thread thread =
        new Thread(
            () -> {
              try {
                enqueueStart(startEvents);
                new Run().loop();
                end();
                result.complete(stats());
              } catch (Throwable t) {
                end();
                result.completeExceptionally(t);
              }
            },
            "necrostack-spine");
    thread.start();
    return result;
  }

  /**
   * Asks the Spine to stop: it pulls nothing more, finishes in-flight events (bounded by the
   * drain timeout), gives back to the backend what it pulled but did not handle, and returns
   * from {@code run}. Returns at once.
   */
  public void stop() {
    if (stopRequestedNanos == 0) {
      stopRequestedNanos = System.nanoTime();
    }
    stopRequested = true;
    synchronized (backoffMonitor) {
      backoffMonitor.notifyAll();
    }
  }

  /**
   * Stops the Spine and waits for it, at most the drain timeout plus a poll timeout; then
   * closes the backend if the Spine owns it. Safe to call more than once.
   */
  @Override
  public void close() {
    stop();
    try {
      long wait = drainTimeout.plus(pollTimeout).plusSeconds(1).toNanos();
      if (!terminated.await(wait, TimeUnit.NANOSECONDS)) {
        log.atWarn()
            .addKeyValue("drain_timeout_ms", drainTimeout.toMillis())
            .log("spine did not stop within the drain timeout");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    synchronized (this) {
      if (workerPool != null) {
        workerPool.shutdown();
        workerPool = null;
      }
    }
    if (ownsBackend) {
      backend.close();
    }
  }

  /**
   * Registers a JVM shutdown hook that {@link #close() closes} this Spine: on SIGTERM or
   * Ctrl-C it stops pulling, finishes in-flight events and gives back the rest.
   *
   * @return the hook's thread, for {@link Runtime#removeShutdownHook(Thread)}
   */
  public Thread installShutdownHook() {
    Thread hook = new Thread(this::close, "necrostack-shutdown");
    Runtime.getRuntime().addShutdownHook(hook);
    return hook;
  }

  /** Whether the Spine is processing events now. */
  public boolean isRunning() {
    return running.get();
  }

  /** A snapshot of the counters since the Spine was built. */
  public SpineStats stats() {
    Map<String, OrganStats> timings = new LinkedHashMap<>();
    for (OrganRuntime runtime : runtimes) {
      timings.put(runtime.name, runtime.stats());
    }
    return new SpineStats(
        processed.sum(),
        emitted.sum(),
        snapshot(handlerErrors),
        snapshot(enqueueFailures),
        backendErrors.sum(),
        ackErrors.sum(),
        snapshot(unhandled),
        retried.sum(),
        deadLettered.sum(),
        timedOut.sum(),
        nacked.sum(),
        rejected.sum(),
        inFlight.get(),
        timings);
  }

  /**
   * The Spine's health: running, the backend's health, the last error and the time since
   * the last event. Suitable for a liveness or readiness probe; never throws.
   */
  public SpineHealth health() {
    BackendHealth backendHealth;
    try {
      backendHealth = backend.health();
    } catch (RuntimeException e) {
      backendHealth = BackendHealth.down("health check failed: " + e, Map.of());
    }
    long last = (long) LAST_EVENT.getOpaque(this);
    Duration since = last == 0 ? null : Duration.ofNanos(System.nanoTime() - last);
    return new SpineHealth(running.get(), backendHealth, lastError, since, pullFailuresNow);
  }

  /** Where this Spine keeps the events it gave up on. */
  public DeadLetters deadLetters() {
    return deadLetters;
  }

  /** The registered organs, in registration order. */
  public List<Organ> organs() {
    return organs;
  }

  /** The backend this Spine pulls from. */
  public Backend backend() {
    return backend;
  }

  /** The routing table: each event type and the names of its organs, in call order. */
  public Map<String, List<String>> routes() {
    Map<String, List<String>> table = new LinkedHashMap<>();
    for (Organ organ : organs) {
      for (String type : organ.listensTo()) {
        table.computeIfAbsent(type.strip(), t -> new ArrayList<>()).add(organ.name());
      }
    }
    table.replaceAll((type, names) -> List.copyOf(names));
    return Collections.unmodifiableMap(table);
  }

  /** The event graph of the registered organs, for printing as Mermaid or Graphviz DOT. */
  public EventGraph eventGraph() {
    return EventGraph.of(organs);
  }

  private void begin() {
    if (!running.compareAndSet(false, true)) {
      throw new IllegalStateException("spine is already running");
    }
    stopRequested = false;
    stopRequestedNanos = 0;
    pullFailuresNow = 0;
    terminated = new CountDownLatch(1);
    for (Organ organ : organs) {
      try {
        organ.onStart();
      } catch (Exception e) {
        running.set(false);
        terminated.countDown();
        throw new SpineException("organ '" + organ.name() + "' failed to start: " + e, e);
      }
    }
    log.atInfo()
        .addKeyValue("organs", organs.size())
        .addKeyValue("backend", backend)
        .addKeyValue("concurrency", concurrency)
        .addKeyValue("max_steps", maxSteps == Long.MAX_VALUE ? "off" : maxSteps)
        .addKeyValue("max_pull_failures",
            maxPullFailures == Integer.MAX_VALUE ? "off" : maxPullFailures)
        .log("spine started");
  }

  private void end() {
    for (Organ organ : organs) {
      try {
        organ.onStop();
      } catch (Exception e) {
        log.atWarn()
            .addKeyValue("organ", organ.name())
            .addKeyValue("error", e.toString())
            .log("organ failed to stop");
      }
    }
    SpineStats s = stats();
    log.atInfo()
        .addKeyValue("processed", s.processed())
        .addKeyValue("emitted", s.emitted())
        .addKeyValue("handler_errors", s.totalHandlerErrors())
        .addKeyValue("dead_lettered", s.deadLettered())
        .log("spine stopped");
    running.set(false);
    terminated.countDown();
  }

  private void enqueueStart(Event[] startEvents) {
    if (startEvents.length > 0) {
      List<Event> list = Arrays.asList(startEvents);
      for (Event event : list) {
        Objects.requireNonNull(event, "start event == null");
      }
      backend.enqueueAll(list);
    }
  }

  /** An event to give back, with its place in the dispatch order. */
  private record Returned(long sequence, Delivery delivery) {}

  /** The state of one run: its threads, its free slots, the tasks in flight. */
  final class Run {
    final Spine spine = Spine.this;
    final ScheduledThreadPoolExecutor timer;
    final Watchdog watchdog = new Watchdog();
    /** How often a wait for an async stage looks whether the Spine is stopping. */
    final long stopCheckNanos = Math.min(TimeUnit.MILLISECONDS.toNanos(100),
        Math.max(pollTimeout.toNanos(), TimeUnit.MILLISECONDS.toNanos(10)));
    /** The drain timeout, for handlings that bound their own wait at a stop. */
    final long drainNanos = drainTimeout.toNanos();
    private final ExecutorService workers;
    private ExecutorService continuations;
    /** The backend, when it buffers settles and reports refusals later; else null. */
    private final BufferedSettles buffered =
        backend instanceof BufferedSettles b ? b : null;
    /**
     * Above concurrency 1: the loop waits on it while it holds more than {@link #lowWater}
     * events; completions notify it when the count falls to that mark or to zero.
     */
    private final Object space = new Object();
    /**
     * Half the capacity: the loop refills by at least half a capacity at once, instead of
     * waking for every completion (a thread hand-off per event when the workers are busy).
     */
    private final int lowWater = capacity / 2;
    /** Completions so far, above concurrency 1; see awaitCompletion. */
    private final AtomicLong completions = new AtomicLong();
    /** Whether the loop waits on {@link #space} for a completion. */
    private volatile boolean awaitingCompletion;
    /** Serial: released when a task that went on a retry (detached) is done. */
    private final Semaphore detachedDone = new Semaphore(0);
    /** Events pulled and not yet settled: waiting for a slot or in flight. */
    private final AtomicInteger outstanding = new AtomicInteger();
    final Set<EventTask> waiting = ConcurrentHashMap.newKeySet();
    private final Map<String, CompletableFuture<Void>> keyTails = new HashMap<>();
    private final AtomicReference<Throwable> fatal = new AtomicReference<>();
    /** Events given back during the run, flushed at its end; see giveBack. */
    private final List<Returned> returned = new ArrayList<>();
    private boolean returnedFlushed; // guarded by returned
    private long sequence;

    Run() {
      timer = new ScheduledThreadPoolExecutor(1, daemon("necrostack-timer"));
      timer.setRemoveOnCancelPolicy(true);
      long shortest = Long.MAX_VALUE;
      for (OrganRuntime runtime : runtimes) {
        if (runtime.timeoutNanos > 0) { // async too: its handleAsync call is watched
          shortest = Math.min(shortest, runtime.timeoutNanos);
        }
      }
      if (shortest != Long.MAX_VALUE) {
        // The watchdog interrupts up to two periods late (see Watchdog): a twentieth of the
        // shortest timeout keeps that within a tenth of it.
        long period = Math.max(TimeUnit.MILLISECONDS.toNanos(5),
            Math.min(TimeUnit.SECONDS.toNanos(1), shortest / 20));
        timer.scheduleAtFixedRate(watchdog, period, period, TimeUnit.NANOSECONDS);
      }
      workers = concurrency > 1 ? workerPool() : null;
    }

    boolean stopping() {
      return stopRequested || fatal.get() != null;
    }

    /**
     * While stopping: when a handling that bounds its own wait must give up, the drain
     * timeout after the stop was asked for (or after {@code now}, for a stop by interrupt).
     */
    long drainDeadline(long now) {
      long since = stopRequestedNanos;
      return (since == 0 ? now : since) + drainNanos;
    }

    void fail(Throwable t) {
      if (fatal.compareAndSet(null, t)) {
        if (stopRequestedNanos == 0) {
          stopRequestedNanos = System.nanoTime();
        }
        stopRequested = true;
      }
    }

    /**
     * Runs a task's next step on a worker (a retry's continuation above concurrency 1, or a
     * keyed task whose predecessor finished) or on the retry thread (concurrency 1). If the
     * executor refuses it (shut down by a close() that outlived the drain), the task gives its
     * event back instead of never finishing.
     */
    void execute(EventTask task, Runnable step) {
      try {
        if (workers != null) {
          workers.execute(step);
          return;
        }
        synchronized (this) {
          if (continuations == null) {
            continuations = Executors.newSingleThreadExecutor(daemon("necrostack-retry"));
          }
        }
        continuations.execute(step);
      } catch (RejectedExecutionException e) {
        rejected(task, e);
      }
    }

    /** An executor refused a task's next step: its event goes back, counted and logged. */
    void rejected(EventTask task, RejectedExecutionException e) {
      rejected.increment();
      log.atWarn()
          .addKeyValue("event_id", task.event().id())
          .addKeyValue("event_type", task.event().eventType())
          .addKeyValue("error", e.toString())
          .log("executor refused the handling's next step (shut down by a close() that"
              + " outlived the drain timeout); the event is given back");
      task.abandon();
    }

    /** The next dispatch sequence number; the loop thread's alone. */
    long nextSequence() {
      return ++sequence;
    }

    /**
     * Gives an event back to the backend. Every give-back comes with the end of the run (a
     * stop, or a failure that stops it), and tasks give back in whatever order they end: a
     * queued task at its start, a retrying one when cancelled, a failing one before the stop
     * it causes. So they are collected and given back at the end of the run in one call, in
     * dispatch order: the backend's queue then holds them in the order it handed them out,
     * and the loop cannot pull them again meanwhile. Once the run has ended (a task that
     * outlived the drain timeout), at once.
     */
    void giveBack(long sequence, Delivery delivery) {
      synchronized (returned) {
        if (!returnedFlushed) {
          returned.add(new Returned(sequence, delivery));
          return;
        }
      }
      releaseNow(List.of(delivery));
    }

    private void flushReturned() {
      List<Delivery> deliveries = new ArrayList<>();
      synchronized (returned) {
        returnedFlushed = true;
        returned.sort(Comparator.comparingLong(Returned::sequence));
        for (Returned r : returned) {
          deliveries.add(r.delivery());
        }
        returned.clear();
      }
      if (!deliveries.isEmpty()) {
        releaseNow(deliveries);
      }
    }

    private void releaseNow(List<Delivery> deliveries) {
      try {
        backend.release(deliveries);
      } catch (RuntimeException e) {
        log.atWarn()
            .addKeyValue("events", deliveries.size())
            .addKeyValue("error", e.toString())
            .log("could not give events back; they stay unsettled with the backend");
      }
    }

    /** Starts the observers' scope of one handling, or null when there are no observers. */
    HandlingObserver.Scope observe(Event event, String organ) {
      if (observers.isEmpty()) {
        return null;
      }
      if (observers.size() == 1) {
        return safeBegin(observers.get(0), event, organ);
      }
      List<HandlingObserver.Scope> scopes = new ArrayList<>(observers.size());
      for (HandlingObserver observer : observers) {
        scopes.add(safeBegin(observer, event, organ));
      }
      return new CompositeScope(scopes);
    }

    private HandlingObserver.Scope safeBegin(HandlingObserver o, Event event, String organ) {
      try {
        HandlingObserver.Scope scope = o.begin(event, organ);
        return scope == null ? HandlingObserver.Scope.NONE : scope;
      } catch (RuntimeException e) {
        observerFailed(e);
        return HandlingObserver.Scope.NONE;
      }
    }

    Map<String, String> extra(HandlingObserver.Scope scope) {
      try {
        return scope.emittedMetadata();
      } catch (RuntimeException e) {
        observerFailed(e);
        return Map.of();
      }
    }

    void observed(HandlingObserver.Scope scope, Throwable failure, List<Event> emitted) {
      try {
        if (failure == null) {
          scope.success(List.copyOf(emitted));
        } else {
          scope.failure(failure);
        }
      } catch (RuntimeException e) {
        observerFailed(e);
      } finally {
        try {
          scope.close();
        } catch (RuntimeException e) {
          observerFailed(e);
        }
      }
    }

    void complete(EventTask task) {
      if (serial) {
        if (task.detached) {
          detachedDone.release(); // the loop waits for a task that went on a retry
        }
        return; // handled inline: the loop does the bookkeeping
      }
      inFlight.decrementAndGet();
      completions.incrementAndGet();
      int left = outstanding.decrementAndGet();
      // Volatile write of the count, then read of the flag, against the loop's write of the
      // flag, then read of the count: one of the two sides sees the other's write.
      if (left == lowWater || left == 0 || awaitingCompletion) {
        synchronized (space) {
          space.notifyAll();
        }
      }
      if (task.done != null) {
        task.done.complete(null);
      }
    }

    void loop() {
      Drainable drainable = backend instanceof Drainable d ? d : null;
      long steps = 0;
      int pullFailures = 0;
      long failingSince = 0;
      long backoff = BACKOFF_START_NANOS;
      try {
        while (!stopping()) {
          if (buffered != null) {
            settleRefusals(); // found by the last pull or a commit since
          }
          if (steps >= maxSteps) {
            awaitIdle(drainTimeout);
            if (stopping() || (drainable != null && drainable.isDrained())) {
              break;
            }
            checkMaxSteps(drainable);
            continue;
          }
          int held = serial ? 0 : outstanding.get();
          if (held > lowWater) {
            awaitSpace(); // backpressure: hold no more than the capacity
            continue;
          }
          int free = serial ? batchSize : capacity - held;
          int want = (int) Math.min(Math.min(batchSize, free), maxSteps - steps);
          List<Delivery> batch;
          try {
            if (drainable == null) {
              batch = backend.pull(want, pollTimeout);
              if (!batch.isEmpty()) {
                touch(System.nanoTime()); // once per batch from a durable backend
              }
            } else {
              batch = pullDrainable(drainable, want);
              if (batch == null) {
                break; // drained
              }
            }
            if (pullFailures != 0) { // the only write on this path is after an outage
              pullsAnswerAgain(pullFailures, failingSince);
              pullFailures = 0;
              backoff = BACKOFF_START_NANOS;
            }
          } catch (RuntimeException e) {
            if (pullFailures == 0) {
              failingSince = System.nanoTime();
            }
            pullFailures++;
            pullFailed(e, pullFailures);
            if (pullFailures >= maxPullFailures) {
              throw new BackendUnavailableException(pullFailures, e);
            }
            pause(backoff);
            backoff = Math.min(backoff * 2, BACKOFF_MAX_NANOS);
            continue;
          }
          if (serial) {
            steps += handleSerially(batch);
            continue;
          }
          // The workers bound the concurrency; a task that starts after a stop gives its
          // event back instead of handling it.
          outstanding.addAndGet(batch.size());
          for (int i = 0, n = batch.size(); i < n; i++) {
            steps++;
            dispatch(batch.get(i));
          }
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        stopRequested = true;
      } finally {
        shutDown();
      }
      Throwable failure = fatal.get();
      if (failure instanceof RuntimeException re) {
        throw re;
      }
      if (failure instanceof Error err) {
        throw err;
      }
      if (failure != null) {
        throw new SpineException("spine failed: " + failure, failure);
      }
    }

    /**
     * A pull from a drainable backend: what is queued now, else null if the backend is
     * drained and nothing is in flight, else a wait for more. Checking the drain only when
     * the queue is empty keeps it (a lock on the in-memory backend) off the per-event path.
     */
    private List<Delivery> pullDrainable(Drainable drainable, int want)
        throws InterruptedException {
      List<Delivery> batch = backend.pull(want, Duration.ZERO);
      if (!batch.isEmpty()) {
        return batch;
      }
      if (inFlight.get() == 0 && drainable.isDrained()) {
        return null;
      }
      if (workers != null && inFlight.get() > 0) {
        // Handlings in flight: the next thing to happen is one of them completing, having
        // emitted (the next pull finds it) or not (the backend may now be drained). Waiting
        // in the backend's pull would miss the second until the pull timed out: 1 ms per
        // run of a fan-out, half its time.
        awaitCompletion();
        return List.of();
      }
      batch = backend.pull(want, pullWait(drainable));
      if (!batch.isEmpty()) {
        // After a wait: the first events in a while. Between waits, the timed handlings
        // touch (see OrganRuntime), so health's "since last event" lags by microseconds.
        touch(System.nanoTime());
      }
      return batch;
    }

    /**
     * Concurrency 1: handles the batch in order on this thread, no hand-off, no slot. A task
     * that goes on a retry (detached) is waited for before the next event: strict FIFO. On
     * stop, what is not started is given back.
     *
     * @return how many events were started
     */
    private int handleSerially(List<Delivery> batch) throws InterruptedException {
      int n = batch.size();
      for (int i = 0; i < n; i++) {
        if (stopping()) {
          giveBackRest(batch, i);
          return i;
        }
        Delivery delivery = batch.get(i);
        inFlight.lazySet(1); // one writer: this thread; a plain store, read by stats()
        EventTask task = new EventTask(this, delivery, routes.get(delivery.event().eventType()),
            nextSequence());
        task.run();
        if (task.detached) {
          awaitDetached(task);
        }
        inFlight.lazySet(0);
      }
      return n;
    }

    /** Serial, stopping: gives back the batch from {@code i} on, after any retrying one. */
    private void giveBackRest(List<Delivery> batch, int i) {
      for (int j = i; j < batch.size(); j++) {
        giveBack(nextSequence(), batch.get(j));
      }
    }

    /**
     * Serial: waits for the task that went on a retry to finish. On stop, a retry not yet due
     * gives its event back; one already running is waited for, at most the drain timeout.
     */
    private void awaitDetached(EventTask task) throws InterruptedException {
      long step = Math.max(pollTimeout.toNanos(), TimeUnit.MILLISECONDS.toNanos(10));
      while (!detachedDone.tryAcquire(step, TimeUnit.NANOSECONDS)) {
        if (stopping()) {
          task.cancelWaiting(); // completes it at once if its retry was not due yet
          if (!detachedDone.tryAcquire(drainTimeout.toNanos(), TimeUnit.NANOSECONDS)) {
            log.atWarn()
                .addKeyValue("drain_timeout_ms", drainTimeout.toMillis())
                .log("a retrying event did not finish within the drain timeout;"
                    + " it stays unsettled with the backend");
          }
          return;
        }
      }
    }

    /**
     * How long the next pull may wait. Normally the poll timeout; but on a drainable backend
     * with events in flight (concurrency above 1), the backend may become drained while the
     * pull waits, when the last in-flight handlings finish without emitting: nothing would
     * wake the pull, and every run would end with a full poll timeout of idling (measured:
     * 100 ms per run of a 1,001-event fan-out at concurrency 8). A short wait lets the loop
     * notice the drain; events enqueued meanwhile still wake the pull at once.
     */
    private Duration pullWait(Drainable drainable) {
      if (drainable == null || pollTimeout.compareTo(IN_FLIGHT_POLL) <= 0) {
        return pollTimeout;
      }
      if (inFlight.get() > 0) {
        return IN_FLIGHT_POLL;
      }
      // Above concurrency 1 the last handlings may have finished since the loop last checked
      // for the drain (while it waited for a slot): do not start a full wait on a drained
      // backend. At concurrency 1 handlings run on this thread, so nothing finished meanwhile.
      if (workers != null && drainable.isDrained()) {
        return Duration.ZERO;
      }
      return pollTimeout;
    }

    private void dispatch(Delivery delivery) {
      inFlight.incrementAndGet();
      Event event = delivery.event();
      EventTask task =
          new EventTask(this, delivery, routes.get(event.eventType()), nextSequence());
      String key = orderingKey == null ? null : orderingKey.apply(event);
      if (key == null) {
        start(task);
        return;
      }
      CompletableFuture<Void> done = new CompletableFuture<>();
      task.done = done;
      CompletableFuture<Void> previous;
      synchronized (keyTails) {
        previous = keyTails.put(key, done);
      }
      done.whenComplete((v, t) -> {
        synchronized (keyTails) {
          keyTails.remove(key, done);
        }
      });
      if (previous == null || previous.isDone()) {
        start(task);
      } else {
        previous.whenComplete((v, t) -> execute(task, task));
      }
    }

    private void start(EventTask task) {
      if (workers == null) {
        task.run(); // concurrency 1: on the loop thread, no hand-off
      } else {
        execute(task, task);
      }
    }

    /** Called with {@code maxSteps} events processed and nothing in flight. */
    private void checkMaxSteps(Drainable drainable) throws InterruptedException {
      if (drainable != null) {
        throw new MaxStepsExceededException(maxSteps); // not drained: events are waiting
      }
      List<Delivery> next = backend.pull(1, pollTimeout);
      if (!next.isEmpty()) {
        backend.release(next);
        throw new MaxStepsExceededException(maxSteps);
      }
    }

    /** Waits, at most a poll timeout, until the Spine holds no more than the low-water mark. */
    private void awaitSpace() throws InterruptedException {
      awaitOnSpace(() -> outstanding.get() <= lowWater || stopping(), pollTimeout.toNanos());
    }

    /** Waits for a handling to complete, at most {@link #IN_FLIGHT_POLL}. */
    private void awaitCompletion() throws InterruptedException {
      long seen = completions.get();
      awaitingCompletion = true;
      try {
        awaitOnSpace(() -> completions.get() != seen || stopping(), IN_FLIGHT_POLL.toNanos());
      } finally {
        awaitingCompletion = false;
      }
    }

    /** Waits until nothing pulled is unsettled, at most the timeout; true if it got there. */
    private boolean awaitIdle(Duration timeout) throws InterruptedException {
      // Serial: the loop handles everything itself and waits for detached tasks.
      return serial || awaitOnSpace(() -> outstanding.get() == 0, timeout.toNanos());
    }

    /**
     * Waits on {@link #space} until the condition holds, at most {@code nanos}; true if it
     * does. {@link #complete} notifies {@code space} where these conditions can turn true.
     */
    private boolean awaitOnSpace(BooleanSupplier condition, long nanos)
        throws InterruptedException {
      long deadline = System.nanoTime() + nanos;
      synchronized (space) {
        while (!condition.getAsBoolean()) {
          long left = deadline - System.nanoTime();
          if (left <= 0) {
            return false;
          }
          TimeUnit.NANOSECONDS.timedWait(space, left);
        }
        return true;
      }
    }

    /**
     * Applies, for each settle the backend refused after its commit returned, the emit-failure
     * policy of the event it belonged to, as if its commit had thrown; never another event's.
     * Its handling is over, so it runs as a task of its own: counted in flight, waited for at
     * concurrency 1 when it goes on a retry, given back at a stop. A refused ack (nothing
     * emitted) is an ack error: the event stays pending and is delivered again.
     */
    private void settleRefusals() throws InterruptedException {
      List<BufferedSettles.RefusedSettle> refused = buffered.takeRefusedSettles();
      for (BufferedSettles.RefusedSettle r : refused) {
        if (r.emitted().isEmpty()) {
          ackRefused(r.delivery(), r.error());
          continue;
        }
        processed.add(-1); // counted when the commit was buffered; again when it settles
        emitted.add(-r.emitted().size());
        EventTask task = EventTask.refused(this, r, nextSequence());
        if (serial) {
          inFlight.lazySet(1);
          task.settleRefused(r.error());
          if (task.detached) {
            awaitDetached(task);
          }
          inFlight.lazySet(0);
        } else {
          outstanding.incrementAndGet();
          inFlight.incrementAndGet();
          task.settleRefused(r.error());
        }
      }
    }

    private void shutDown() {
      for (EventTask task : waiting) {
        task.cancelWaiting(); // a retry not yet due gives its event back
      }
      if (buffered != null) {
        try {
          settleRefusals(); // stopping: retries give back, other outcomes apply
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      boolean idle;
      try {
        idle = awaitIdle(drainTimeout);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        idle = false;
      }
      if (!idle) {
        log.atWarn()
            .addKeyValue("in_flight", inFlight.get())
            .addKeyValue("drain_timeout_ms", drainTimeout.toMillis())
            .log("in-flight events did not finish within the drain timeout;"
                + " they stay unsettled with the backend");
      }
      flushReturned();
      timer.shutdownNow();
      // The worker pool is the Spine's, kept for its next run; close() shuts it down.
      synchronized (this) {
        if (continuations != null) {
          continuations.shutdown();
        }
      }
    }

    /**
     * Counts a failed pull and reports the Spine not ready. Logs the first failures of an
     * outage and then each time the count doubles: an outage of hours logs a few dozen lines,
     * not one per backoff.
     */
    private void pullFailed(RuntimeException e, int failures) {
      backendErrors.increment();
      lastError = "pull failed: " + e;
      pullFailuresNow = failures;
      if (failures <= 3 || Integer.bitCount(failures) == 1) {
        log.atWarn()
            .addKeyValue("error", e.toString())
            .addKeyValue("consecutive_failures", failures)
            .addKeyValue("max_pull_failures",
                maxPullFailures == Integer.MAX_VALUE ? "off" : maxPullFailures)
            .log("backend pull failed; retrying with backoff (not ready meanwhile)");
      }
    }

    private void pullsAnswerAgain(int failures, long failingSince) {
      pullFailuresNow = 0;
      log.atInfo()
          .addKeyValue("failed_pulls", failures)
          .addKeyValue("outage_ms",
              TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - failingSince))
          .log("backend answers again; resuming");
    }

    private void pause(long nanos) {
      long deadline = System.nanoTime() + nanos;
      synchronized (backoffMonitor) {
        long left;
        while (!stopping() && (left = deadline - System.nanoTime()) > 0) {
          try {
            TimeUnit.NANOSECONDS.timedWait(backoffMonitor, left);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            stopRequested = true;
          }
        }
      }
    }
  }

  // ------------------------------------------------------------- bookkeeping

  /**
   * Records that events are being handled, for {@link #health()}: one plain store, no fence.
   * Called per batch pulled after a wait or from a durable backend, and by timed handlings.
   */
  void touch(long nanoTime) {
    LAST_EVENT.setOpaque(this, nanoTime);
  }

  void ackFailed(Delivery delivery, RuntimeException e) {
    if (!(e instanceof BackendException || e instanceof IllegalStateException)) {
      ackErrors.increment();
      throw e; // a bug, not a backend's answer
    }
    ackRefused(delivery, e);
  }

  /** Counts and logs an ack the backend did not record; the event may come again. */
  void ackRefused(Delivery delivery, RuntimeException e) {
    ackErrors.increment();
    log.atWarn()
        .addKeyValue("event_id", delivery.event().id())
        .addKeyValue("event_type", delivery.event().eventType())
        .addKeyValue("error", e.toString())
        .log("ack failed; the event may be delivered again");
  }

  void handlerFailed(String organ, Event event, Throwable t, int attempts) {
    handlerErrors.computeIfAbsent(organ, n -> new LongAdder()).increment();
    lastError = "organ '" + organ + "' failed: " + t;
    log.atWarn()
        .setCause(t)
        .addKeyValue("event_id", event.id())
        .addKeyValue("event_type", event.eventType())
        .addKeyValue("organ", organ)
        .addKeyValue("attempt", attempts)
        .addKeyValue("error", t.toString())
        .log("handler failed");
  }

  void deadLetter(DeadLetter letter) {
    deadLetters.add(letter);
    deadLettered.increment();
    log.atWarn()
        .addKeyValue("event_id", letter.event().id())
        .addKeyValue("event_type", letter.event().eventType())
        .addKeyValue("organ", letter.organ())
        .addKeyValue("reason", letter.reason())
        .addKeyValue("error", letter.errorMessage())
        .log("event dead-lettered");
  }

  private void observerFailed(RuntimeException e) {
    log.atWarn().addKeyValue("error", e.toString()).log("handling observer failed; ignored");
  }

  /** Several observers' scopes as one. */
  private static final class CompositeScope implements HandlingObserver.Scope {
    private final List<HandlingObserver.Scope> scopes;

    CompositeScope(List<HandlingObserver.Scope> scopes) {
      this.scopes = scopes;
    }

    @Override
    public Map<String, String> emittedMetadata() {
      Map<String, String> all = new HashMap<>();
      for (HandlingObserver.Scope scope : scopes) {
        all.putAll(scope.emittedMetadata());
      }
      return all;
    }

    @Override
    public void success(List<Event> emitted) {
      for (HandlingObserver.Scope scope : scopes) {
        scope.success(emitted);
      }
    }

    @Override
    public void failure(Throwable error) {
      for (HandlingObserver.Scope scope : scopes) {
        scope.failure(error);
      }
    }

    @Override
    public void close() {
      for (int i = scopes.size() - 1; i >= 0; i--) {
        scopes.get(i).close(); // reverse order, as nested scopes close
      }
    }
  }

  void countEnqueueFailure(String eventType) {
    typeCounter(enqueueFailures, eventType, null).increment();
  }

  void countUnhandled(Event event) {
    LongAdder count = unhandled.get(event.eventType());
    if (count == null) {
      String[] created = new String[1];
      count = typeCounter(unhandled, event.eventType(), created);
      if (created[0] != null) {
        log.atWarn()
            .addKeyValue("event_id", event.id())
            .addKeyValue("event_type", event.eventType())
            .addKeyValue("counted_as", created[0])
            .log("no organ listens to this event type; counted and acknowledged (logged once"
                + " per type; past " + SpineStats.MAX_TYPES + " types, once for all others)");
      }
    }
    count.increment();
  }

  /**
   * The counter of a type: its own for the first {@link SpineStats#MAX_TYPES} types seen, the
   * shared {@link SpineStats#OTHER_TYPES} one after, so the map stays bounded whatever types
   * the input brings. New types are rare: their creation is serialized so the bound is exact.
   *
   * @param created if not null, gets the key of a counter this call created
   */
  private static LongAdder typeCounter(Map<String, LongAdder> counters, String type,
      String[] created) {
    LongAdder counter = counters.get(type);
    if (counter != null) {
      return counter;
    }
    if (counters.size() > SpineStats.MAX_TYPES) {
      counter = counters.get(SpineStats.OTHER_TYPES);
      if (counter != null) {
        return counter; // full: no lock for the types past the bound
      }
    }
    synchronized (counters) {
      counter = counters.get(type);
      if (counter == null) {
        String key = counters.size() < SpineStats.MAX_TYPES ? type : SpineStats.OTHER_TYPES;
        counter = counters.get(key);
        if (counter == null) {
          counter = new LongAdder();
          counters.put(key, counter);
          if (created != null) {
            created[0] = key;
          }
        }
      }
      return counter;
    }
  }

  private static Map<String, Long> snapshot(Map<String, LongAdder> counters) {
    Map<String, Long> copy = new HashMap<>();
    counters.forEach((k, v) -> copy.put(k, v.sum()));
    return copy;
  }

  private static ThreadFactory daemon(String name) {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, name + "-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }

  /** The worker pool, created at the first run above concurrency 1 and kept until close. */
  private synchronized ExecutorService workerPool() {
    if (workerPool == null) {
      workerPool = newWorkers(concurrency);
    }
    return workerPool;
  }

  /**
   * Workers for concurrency above one: a fixed pool of that many threads, virtual on JDK 21+,
   * taking tasks from one queue. The pool bounds the concurrency, so the loop hands a whole
   * batch over at once instead of taking a permit per event (which made it wait for a
   * completion, a thread hand-off, per event once the workers were busy). The project
   * compiles for Java 17, where the virtual-thread builder does not exist, so it is looked
   * up once by name.
   */
  private static ExecutorService newWorkers(int concurrency) {
    ThreadFactory factory = virtualThreadFactory();
    ThreadPoolExecutor pool = new ThreadPoolExecutor(concurrency, concurrency,
        WORKER_KEEP_ALIVE_SECONDS, TimeUnit.SECONDS, new LinkedBlockingQueue<>(),
        factory != null ? factory : daemon("necrostack-worker"));
    pool.allowCoreThreadTimeOut(true); // a Spine run again and again, never closed, leaks none
    return pool;
  }

  /** {@code Thread.ofVirtual().name("necrostack-worker-", 1).factory()}, or null before 21. */
  private static ThreadFactory virtualThreadFactory() {
    try {
      MethodHandles.Lookup lookup = MethodHandles.publicLookup();
      Class<?> builder = Class.forName("java.lang.Thread$Builder");
      Class<?> ofVirtual = Class.forName("java.lang.Thread$Builder$OfVirtual");
      MethodHandle create = lookup.findStatic(Thread.class, "ofVirtual",
          MethodType.methodType(ofVirtual));
      MethodHandle name = lookup.findVirtual(ofVirtual, "name",
          MethodType.methodType(ofVirtual, String.class, long.class));
      MethodHandle factory = lookup.findVirtual(builder, "factory",
          MethodType.methodType(ThreadFactory.class));
      Object named = name.invoke(create.invoke(), "necrostack-worker-", 1L);
      return (ThreadFactory) factory.invoke(named);
    } catch (ClassNotFoundException | NoSuchMethodException | IllegalAccessException e) {
      return null;
    } catch (Throwable t) {
      throw new IllegalStateException("cannot create the virtual-thread factory", t);
    }
  }

  /** The ordering key of an event from its {@value #ORDERING_KEY} metadata, or null. */
  public static String metadataOrderingKey(Event event) {
    return event.metadata().get(ORDERING_KEY);
  }

  // ------------------------------------------------------------------ builder

  /**
   * Builds a {@link Spine}; validates everything at {@link #build()} and names what is wrong.
   */
  public static final class Builder {
    private final List<Organ> organs = new ArrayList<>();
    private Backend backend;
    private Long maxSteps;
    private Duration pollTimeout = DEFAULT_POLL_TIMEOUT;
    private int batchSize = DEFAULT_BATCH_SIZE;
    private Integer maxPullFailures;
    private Duration drainTimeout = DEFAULT_DRAIN_TIMEOUT;
    private boolean ownsBackend;
    private int concurrency = 1;
    private Function<Event, String> orderingKey;
    private int maxDepth = DEFAULT_MAX_DEPTH;
    private HandlerPolicy handlerPolicy = HandlerPolicy.DEFAULT;
    private final Map<String, HandlerPolicy> organPolicies = new HashMap<>();
    private EmitFailurePolicy emitFailurePolicy = EmitFailurePolicy.FAIL;
    private DeadLetters deadLetters;
    private final List<HandlingObserver> observers = new ArrayList<>();

    private Builder() {}

    /** Adds an observer called around every handling (tracing, metrics); none by default. */
    public Builder observer(HandlingObserver observer) {
      observers.add(Objects.requireNonNull(observer, "observer == null"));
      return this;
    }

    /**
     * How many events may be in flight at once; default 1 (strict FIFO). Above 1, events run
     * on virtual threads where the JDK has them, else on a pool of that many threads.
     */
    public Builder concurrency(int concurrency) {
      this.concurrency = concurrency;
      return this;
    }

    /**
     * Events with the same key are handled one at a time, in arrival order, whatever the
     * concurrency; a null key means no constraint. Default: none. {@code
     * Spine::metadataOrderingKey} reads the {@value #ORDERING_KEY} metadata.
     */
    public Builder orderingKey(Function<Event, String> orderingKey) {
      this.orderingKey = orderingKey;
      return this;
    }

    /**
     * The deepest chain allowed: an emitted event whose depth exceeds it is dead-lettered with
     * reason "max depth exceeded". Default {@value #DEFAULT_MAX_DEPTH}.
     */
    public Builder maxDepth(int maxDepth) {
      this.maxDepth = maxDepth;
      return this;
    }

    /** The policy of every organ without its own; default {@link HandlerPolicy#DEFAULT}. */
    public Builder handlerPolicy(HandlerPolicy policy) {
      this.handlerPolicy = policy;
      return this;
    }

    /** The policy of one organ, by name, overriding the Spine-wide one. */
    public Builder organPolicy(String organName, HandlerPolicy policy) {
      organPolicies.put(organName, policy);
      return this;
    }

    /** What to do when the backend refuses emitted events; default {@link EmitFailurePolicy#FAIL}. */
    public Builder emitFailurePolicy(EmitFailurePolicy policy) {
      this.emitFailurePolicy = policy;
      return this;
    }

    /**
     * Where dead letters go; default the backend's own store when it is a {@link
     * DeadLetterStore} (Redis: its dead-letter stream), else a new {@link InMemoryDeadLetters}.
     */
    public Builder deadLetters(DeadLetters deadLetters) {
      this.deadLetters = deadLetters;
      return this;
    }

    /** Adds organs, called in the order added. */
    public Builder organs(Organ... organs) {
      this.organs.addAll(Arrays.asList(organs));
      return this;
    }

    /** Adds organs, called in the order added. */
    public Builder organs(List<? extends Organ> organs) {
      this.organs.addAll(organs);
      return this;
    }

    /** The backend to pull from and enqueue into. Required. */
    public Builder backend(Backend backend) {
      this.backend = backend;
      return this;
    }

    /**
     * Bounds the events processed in one run. Default: {@value #DEFAULT_MAX_STEPS} for a
     * drainable backend, no bound for others.
     *
     * @param maxSteps at least 1
     */
    public Builder maxSteps(long maxSteps) {
      this.maxSteps = maxSteps;
      return this;
    }

    /** The longest one pull waits before the loop looks again; default 100 ms. */
    public Builder pollTimeout(Duration pollTimeout) {
      this.pollTimeout = pollTimeout;
      return this;
    }

    /** How many events one pull may take; default {@value #DEFAULT_BATCH_SIZE}. */
    public Builder batchSize(int batchSize) {
      this.batchSize = batchSize;
      return this;
    }

    /**
     * Failed pulls in a row before the Spine stops with {@link BackendUnavailableException}.
     * Default: {@value #DEFAULT_MAX_PULL_FAILURES} for a drainable backend (in memory), no
     * bound for others (durable: an outage is ridden out, the Spine not ready meanwhile).
     *
     * @param maxPullFailures at least 1
     */
    public Builder maxPullFailures(int maxPullFailures) {
      this.maxPullFailures = maxPullFailures;
      return this;
    }

    /** How long stopping waits for in-flight work; default 30 s. */
    public Builder drainTimeout(Duration drainTimeout) {
      this.drainTimeout = drainTimeout;
      return this;
    }

    /** Whether {@link Spine#close()} also closes the backend; default false. */
    public Builder ownsBackend(boolean ownsBackend) {
      this.ownsBackend = ownsBackend;
      return this;
    }

    /**
     * Validates the configuration and builds the Spine.
     *
     * @throws IllegalArgumentException listing every problem found, each naming the organ or
     *     option
     */
    public Spine build() {
      List<String> problems = new ArrayList<>();
      if (backend == null) {
        problems.add("backend is required");
      }
      if (organs.isEmpty()) {
        problems.add("at least one organ is required");
      }
      if (maxSteps != null && maxSteps < 1) {
        problems.add("maxSteps must be at least 1, got " + maxSteps);
      }
      if (pollTimeout == null || pollTimeout.isNegative()) {
        problems.add("pollTimeout must be zero or positive, got " + pollTimeout);
      }
      if (batchSize < 1) {
        problems.add("batchSize must be at least 1, got " + batchSize);
      }
      if (maxPullFailures != null && maxPullFailures < 1) {
        problems.add("maxPullFailures must be at least 1, got " + maxPullFailures);
      }
      if (drainTimeout == null || drainTimeout.isNegative()) {
        problems.add("drainTimeout must be zero or positive, got " + drainTimeout);
      }
      if (concurrency < 1) {
        problems.add("concurrency must be at least 1, got " + concurrency);
      }
      if (maxDepth < 1) {
        problems.add("maxDepth must be at least 1, got " + maxDepth);
      }
      if (handlerPolicy == null) {
        problems.add("handlerPolicy must not be null");
      }
      if (emitFailurePolicy == null) {
        problems.add("emitFailurePolicy must not be null");
      }
      OrganValidation.check(organs, problems);
      for (Map.Entry<String, HandlerPolicy> e : organPolicies.entrySet()) {
        if (e.getValue() == null) {
          problems.add("organPolicy for '" + e.getKey() + "' must not be null");
        }
        if (organs.stream().noneMatch(o -> o != null && e.getKey().equals(o.name()))) {
          problems.add("organPolicy names organ '" + e.getKey() + "', which is not registered");
        }
      }
      if (!problems.isEmpty()) {
        throw new IllegalArgumentException(
            "invalid Spine configuration: " + String.join("; ", problems));
      }
      return new Spine(this);
    }
  }
}
