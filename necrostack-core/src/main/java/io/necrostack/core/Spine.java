package io.necrostack.core;

import io.necrostack.backend.Backend;
import io.necrostack.backend.BackendException;
import io.necrostack.backend.Delivery;
import io.necrostack.backend.Drainable;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
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
 * Events are handled one at a time, in the backend's order.
 *
 * <p>{@link #run(Event...)} enqueues start events and processes until the backend is drained
 * (when it is {@link Drainable}, like the in-memory one) or until {@link #stop()}. {@link
 * #start(Event...)} does the same on a background thread.
 *
 * <p>Failures: a handler that throws is logged (event id, type, organ) and counted, and the
 * other organs still run; the event is then acknowledged. An emission the backend refuses
 * stops the Spine with a {@link SpineException}; the handled event is given back to the
 * backend, not lost. Failed pulls back off exponentially (10 ms doubling to 1 s) and stop the
 * Spine with {@link BackendUnavailableException} after {@code maxPullFailures} in a row.
 *
 * <p>Loop protection: a run processes at most {@code maxSteps} events. Past it, {@link
 * MaxStepsExceededException} is thrown once in-flight work is settled. The bound defaults to
 * {@value #DEFAULT_MAX_STEPS} for a drainable backend, where a run is a finite chain, and is
 * off for other (durable) backends, where a Spine serves for days; set it explicitly to bound
 * those too.
 */
public final class Spine implements AutoCloseable {
  /** Default bound on events per run, for drainable backends. */
  public static final long DEFAULT_MAX_STEPS = 10_000;

  /** Default longest wait of one pull, before the loop checks for stop and drain again. */
  public static final Duration DEFAULT_POLL_TIMEOUT = Duration.ofMillis(100);

  /** Default number of events pulled at once. */
  public static final int DEFAULT_BATCH_SIZE = 64;

  /** Default number of failed pulls in a row after which the Spine stops. */
  public static final int DEFAULT_MAX_PULL_FAILURES = 10;

  /** Default bound on waiting for in-flight work in {@link #close()}. */
  public static final Duration DEFAULT_DRAIN_TIMEOUT = Duration.ofSeconds(30);

  private static final Logger log = LoggerFactory.getLogger(Spine.class);
  private static final long BACKOFF_START_NANOS = TimeUnit.MILLISECONDS.toNanos(10);
  private static final long BACKOFF_MAX_NANOS = TimeUnit.SECONDS.toNanos(1);

  private final List<Organ> organs;
  private final Map<String, Organ[]> routes;
  private final Backend backend;
  private final long maxSteps;
  private final Duration pollTimeout;
  private final int batchSize;
  private final int maxPullFailures;
  private final Duration drainTimeout;
  private final boolean ownsBackend;

  private final AtomicBoolean running = new AtomicBoolean();
  private volatile boolean stopRequested;
  private volatile CountDownLatch terminated = new CountDownLatch(0);
  private final Object backoffMonitor = new Object();

  private final LongAdder processed = new LongAdder();
  private final LongAdder emitted = new LongAdder();
  private final LongAdder backendErrors = new LongAdder();
  private final LongAdder ackErrors = new LongAdder();
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
    this.pollTimeout = b.pollTimeout;
    this.batchSize = b.batchSize;
    this.maxPullFailures = b.maxPullFailures;
    this.drainTimeout = b.drainTimeout;
    this.ownsBackend = b.ownsBackend;
    Map<String, List<Organ>> byType = new LinkedHashMap<>();
    for (Organ organ : organs) {
      for (String type : organ.listensTo()) {
        byType.computeIfAbsent(type.strip(), t -> new ArrayList<>()).add(organ);
      }
    }
    Map<String, Organ[]> table = new HashMap<>();
    byType.forEach((type, list) -> table.put(type, list.toArray(new Organ[0])));
    this.routes = table;
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
   * @throws SpineException if an emission was refused or an organ failed to start
   * @throws IllegalStateException if the Spine is already running
   */
  public SpineStats run(Event... startEvents) {
    begin();
    try {
      enqueueStart(startEvents);
      loop(backend instanceof Drainable d ? d : null);
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
                loop(backend instanceof Drainable d ? d : null);
                end();
                result.complete(stats());
              } catch (Throwable t) {
                end();
                result.completeExceptionally(t);
              }
            },
            "necrostack-spine");
    thread.setDaemon(false);
    thread.start();
    return result;
  }

  /**
   * Asks the Spine to stop: it pulls nothing more, finishes the event in hand, gives back the
   * rest of its batch to the backend, and returns from {@code run}. Returns at once.
   */
  public void stop() {
    stopRequested = true;
    synchronized (backoffMonitor) {
      backoffMonitor.notifyAll();
    }
  }

  /**
   * Stops the Spine and waits for it, at most the drain timeout; then closes the backend if
   * the Spine owns it. Safe to call more than once.
   */
  @Override
  public void close() {
    stop();
    try {
      if (!terminated.await(drainTimeout.toNanos(), TimeUnit.NANOSECONDS)) {
        log.atWarn()
            .addKeyValue("drain_timeout_ms", drainTimeout.toMillis())
            .log("spine did not stop within the drain timeout");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (ownsBackend) {
      backend.close();
    }
  }

  /** Whether the Spine is processing events now. */
  public boolean isRunning() {
    return running.get();
  }

  /** A snapshot of the counters since the Spine was built. */
  public SpineStats stats() {
    return new SpineStats(
        processed.sum(),
        emitted.sum(),
        snapshot(handlerErrors),
        snapshot(enqueueFailures),
        backendErrors.sum(),
        ackErrors.sum(),
        snapshot(unhandled));
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
        .addKeyValue("max_steps", maxSteps == Long.MAX_VALUE ? "off" : maxSteps)
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

  private void loop(Drainable drainable) {
    long steps = 0;
    int pullFailures = 0;
    long backoff = BACKOFF_START_NANOS;
    while (!stopRequested) {
      if (drainable != null && drainable.isDrained()) {
        return;
      }
      if (steps >= maxSteps) {
        checkMaxSteps(drainable);
        continue;
      }
      List<Delivery> batch;
      try {
        batch = backend.pull((int) Math.min(batchSize, maxSteps - steps), pollTimeout);
        pullFailures = 0;
        backoff = BACKOFF_START_NANOS;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      } catch (RuntimeException e) {
        backendErrors.increment();
        pullFailures++;
        log.atWarn()
            .addKeyValue("error", e.toString())
            .addKeyValue("consecutive_failures", pullFailures)
            .log("backend pull failed");
        if (pullFailures >= maxPullFailures) {
          throw new BackendUnavailableException(pullFailures, e);
        }
        pause(backoff);
        backoff = Math.min(backoff * 2, BACKOFF_MAX_NANOS);
        continue;
      }
      for (int i = 0, n = batch.size(); i < n; i++) {
        if (stopRequested || Thread.currentThread().isInterrupted()) {
          backend.release(batch.subList(i, n));
          return;
        }
        steps++;
        process(batch.get(i));
      }
    }
  }

  /** Called with {@code maxSteps} events processed: fails if more are waiting. */
  private void checkMaxSteps(Drainable drainable) {
    if (drainable != null) {
      // Not drained (checked just before): events are waiting.
      throw new MaxStepsExceededException(maxSteps);
    }
    List<Delivery> next;
    try {
      next = backend.pull(1, pollTimeout);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      stopRequested = true;
      return;
    }
    if (!next.isEmpty()) {
      backend.release(next);
      throw new MaxStepsExceededException(maxSteps);
    }
  }

  private void pause(long nanos) {
    long deadline = System.nanoTime() + nanos;
    synchronized (backoffMonitor) {
      long left;
      while (!stopRequested && (left = deadline - System.nanoTime()) > 0) {
        try {
          TimeUnit.NANOSECONDS.timedWait(backoffMonitor, left);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          stopRequested = true;
        }
      }
    }
  }

  // --------------------------------------------------------------- one event

  private void process(Delivery delivery) {
    Event event = delivery.event();
    Organ[] targets = routes.get(event.eventType());
    if (targets == null) {
      countUnhandled(event);
      settle(delivery, List.of());
      return;
    }
    List<Event> out = List.of();
    Stamp stamp = null;
    for (Organ organ : targets) {
      Emission emission;
      try {
        emission = invoke(organ, event);
      } catch (InterruptedException e) {
        // Stopping mid-handling: give the event back whole; it is not handled.
        Thread.currentThread().interrupt();
        backend.release(List.of(delivery));
        return;
      } catch (Throwable t) {
        if (t instanceof VirtualMachineError vme) {
          backend.release(List.of(delivery));
          throw vme;
        }
        handlerFailed(organ, event, t);
        continue;
      }
      if (emission == null) {
        continue;
      }
      if (stamp == null) {
        stamp = new Stamp(event);
      }
      try {
        out = collect(organ, emission, stamp, out);
      } catch (UndeclaredEmissionException e) {
        handlerFailed(organ, event, e);
      }
    }
    settle(delivery, out);
    if (log.isDebugEnabled()) {
      log.atDebug()
          .addKeyValue("event_id", event.id())
          .addKeyValue("event_type", event.eventType())
          .addKeyValue("emitted", out.size())
          .log("event handled");
    }
  }

  private static Emission invoke(Organ organ, Event event) throws Exception {
    if (organ instanceof AsyncOrgan async) {
      CompletionStage<Emission> stage = async.handleAsync(event);
      if (stage == null) {
        throw new NullPointerException(
            "organ '" + organ.name() + "' returned a null CompletionStage");
      }
      try {
        return stage.toCompletableFuture().get();
      } catch (ExecutionException e) {
        Throwable cause = e.getCause();
        if (cause instanceof Exception ex) {
          throw ex;
        }
        throw e;
      }
    }
    return organ.handle(event);
  }

  /** Adds an organ's emission to the event's output, all or nothing for that organ. */
  private static List<Event> collect(Organ organ, Emission emission, Stamp stamp, List<Event> out)
      throws UndeclaredEmissionException {
    Set<String> declared = organ.emits();
    if (emission instanceof Event single) {
      checkDeclared(organ, declared, single);
      List<Event> grown = out.isEmpty() ? new ArrayList<>(2) : out;
      grown.add(stamp.apply(single));
      return grown;
    }
    List<Event> events = ((Emission.Events) emission).list();
    if (events.isEmpty()) {
      return out;
    }
    for (Event e : events) {
      checkDeclared(organ, declared, e);
    }
    List<Event> grown = out.isEmpty() ? new ArrayList<>(events.size()) : out;
    for (Event e : events) {
      grown.add(stamp.apply(e));
    }
    return grown;
  }

  private static void checkDeclared(Organ organ, Set<String> declared, Event e)
      throws UndeclaredEmissionException {
    if (!declared.isEmpty() && !declared.contains(e.eventType())) {
      throw new UndeclaredEmissionException(
          "organ '" + organ.name() + "' emitted undeclared event type '" + e.eventType()
              + "' (declared: " + declared + ")");
    }
  }

  private void settle(Delivery delivery, List<Event> out) {
    if (out.isEmpty()) {
      try {
        backend.ack(delivery);
      } catch (RuntimeException e) {
        ackFailed(delivery, e);
      }
      processed.increment();
      return;
    }
    try {
      backend.commit(delivery, out);
    } catch (RuntimeException e) {
      for (Event emittedEvent : out) {
        enqueueFailures.computeIfAbsent(emittedEvent.eventType(), t -> new LongAdder())
            .increment();
      }
      Event event = delivery.event();
      log.atError()
          .addKeyValue("event_id", event.id())
          .addKeyValue("event_type", event.eventType())
          .addKeyValue("emitted", out.size())
          .addKeyValue("error", e.toString())
          .log("backend refused emitted events; stopping, the event is given back");
      try {
        backend.release(List.of(delivery));
      } catch (RuntimeException releaseError) {
        e.addSuppressed(releaseError);
      }
      throw new SpineException(
          "backend refused the " + out.size() + " event(s) emitted while handling "
              + event.eventType() + " " + event.id() + ": " + e.getMessage(), e);
    }
    processed.increment();
    emitted.add(out.size());
  }

  private void ackFailed(Delivery delivery, RuntimeException e) {
    ackErrors.increment();
    if (e instanceof BackendException || e instanceof IllegalStateException) {
      log.atWarn()
          .addKeyValue("event_id", delivery.event().id())
          .addKeyValue("event_type", delivery.event().eventType())
          .addKeyValue("error", e.toString())
          .log("ack failed; the event may be delivered again");
      return;
    }
    throw e;
  }

  private void handlerFailed(Organ organ, Event event, Throwable t) {
    handlerErrors.computeIfAbsent(organ.name(), n -> new LongAdder()).increment();
    log.atWarn()
        .setCause(t)
        .addKeyValue("event_id", event.id())
        .addKeyValue("event_type", event.eventType())
        .addKeyValue("organ", organ.name())
        .addKeyValue("error", t.toString())
        .log("handler failed");
  }

  private void countUnhandled(Event event) {
    LongAdder[] created = new LongAdder[1];
    LongAdder count =
        unhandled.computeIfAbsent(
            event.eventType(),
            t -> {
              created[0] = new LongAdder();
              return created[0];
            });
    count.increment();
    if (created[0] != null) {
      log.atWarn()
          .addKeyValue("event_id", event.id())
          .addKeyValue("event_type", event.eventType())
          .log("no organ listens to this event type; counted and acknowledged"
              + " (logged once per type)");
    }
  }

  private static Map<String, Long> snapshot(Map<String, LongAdder> counters) {
    Map<String, Long> copy = new HashMap<>();
    counters.forEach((k, v) -> copy.put(k, v.sum()));
    return copy;
  }

  /** Derives the metadata of events emitted while handling one cause, computed once. */
  private static final class Stamp {
    private final String causeId;
    private final String correlationId;
    private final String depth;

    Stamp(Event cause) {
      this.causeId = cause.id().toString();
      this.correlationId = cause.metadata().getOrDefault(Event.CORRELATION_ID, causeId);
      this.depth = Integer.toString(cause.depth() + 1);
    }

    Event apply(Event e) {
      Map<String, String> own = e.metadata();
      Map<String, String> metadata;
      if (own.isEmpty()) {
        metadata =
            Map.of(
                Event.CORRELATION_ID, correlationId,
                Event.CAUSATION_ID, causeId,
                Event.DEPTH, depth);
      } else {
        metadata = new HashMap<>(own);
        metadata.putIfAbsent(Event.CORRELATION_ID, correlationId);
        metadata.put(Event.CAUSATION_ID, causeId);
        metadata.put(Event.DEPTH, depth);
      }
      return new Event(e.id(), e.timestamp(), e.eventType(), e.payload(), metadata);
    }
  }

  /** An organ emitted a type it did not declare. */
  private static final class UndeclaredEmissionException extends Exception {
    private static final long serialVersionUID = 1L;

    UndeclaredEmissionException(String message) {
      super(message, null, false, false);
    }
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
    private int maxPullFailures = DEFAULT_MAX_PULL_FAILURES;
    private Duration drainTimeout = DEFAULT_DRAIN_TIMEOUT;
    private boolean ownsBackend;

    private Builder() {}

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

    /** Failed pulls in a row before the Spine stops; default 10. */
    public Builder maxPullFailures(int maxPullFailures) {
      this.maxPullFailures = maxPullFailures;
      return this;
    }

    /** How long {@link Spine#close()} waits for in-flight work; default 30 s. */
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
      if (maxPullFailures < 1) {
        problems.add("maxPullFailures must be at least 1, got " + maxPullFailures);
      }
      if (drainTimeout == null || drainTimeout.isNegative()) {
        problems.add("drainTimeout must be zero or positive, got " + drainTimeout);
      }
      OrganValidation.check(organs, problems);
      if (!problems.isEmpty()) {
        throw new IllegalArgumentException(
            "invalid Spine configuration: " + String.join("; ", problems));
      }
      return new Spine(this);
    }
  }
}
