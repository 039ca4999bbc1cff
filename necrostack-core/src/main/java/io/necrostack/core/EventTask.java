package io.necrostack.core;

import io.necrostack.backend.Backend;
import io.necrostack.backend.BufferedSettles;
import io.necrostack.backend.DelayedRedelivery;
import io.necrostack.backend.Delivery;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The handling of one delivery: its organs in order, each under its policy, then the commit.
 *
 * <p>A retry does not sleep: the task schedules its own continuation and returns its thread.
 * An organ that succeeded is never re-run by the retry of a later organ: the continuation
 * resumes at the failed organ with the emissions gathered so far.
 */
final class EventTask implements Runnable {
  private static final int RUNNING = 0;
  private static final int WAITING = 1;
  private static final int DONE = 2;

  private final Spine.Run run;
  private final Delivery delivery;
  private final Event event;
  private final OrganRuntime[] targets;
  /** The dispatch order, for giving events back in it. */
  private final long sequence;
  /** Completes when the task is done; only created for events with an ordering key. */
  CompletableFuture<Void> done;

  private int index;
  private int attempt;
  private Instant firstFailure;
  private List<Event> out = List.of();
  /** For stamping emitted events, computed at the first: see {@link #stamp}. */
  private boolean stampReady;
  /** The cause's correlation id, or null when it has none (then it is the cause's id). */
  private String inherited;
  private int depth;
  private String causeId;
  private int commitAttempt;
  /**
   * RUNNING, WAITING for a retry's continuation, or DONE when cancelled while waiting; only
   * the retry path changes it (a plain field behind a VarHandle: no AtomicInteger to
   * allocate per event). A task that finishes without waiting stays RUNNING, which is all
   * {@link #cancelWaiting} needs to leave it alone.
   */
  private volatile int state; // RUNNING is 0: no initializing volatile write
  private static final VarHandle STATE;

  static {
    try {
      STATE = MethodHandles.lookup().findVarHandle(EventTask.class, "state", int.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  /**
   * Whether {@link Spine.Run#complete} was called. Plain: one thread at a time runs this task
   * (its thread, then a continuation started through the timer and an executor, or the loop
   * cancelling it after winning the WAITING state), each hand-over ordered by those.
   */
  private boolean completed;
  /** Set when the task first waits for a retry: it then finishes on another thread. */
  boolean detached;
  /** Whether {@link #run()} was entered (a retry's continuation enters it again). */
  private boolean started;
  private ScheduledFuture<?> wakeUp;

  EventTask(Spine.Run run, Delivery delivery, OrganRuntime[] targets, long sequence) {
    this.run = run;
    this.sequence = sequence;
    this.delivery = delivery;
    this.event = delivery.event();
    this.targets = targets;
  }

  /** The event this task handles. */
  Event event() {
    return event;
  }

  @Override
  public void run() {
    try {
      if (!started) {
        started = true;
        if (!run.spine.serial && run.stopping()) {
          abandon(); // queued for a worker when the Spine began stopping: not handled
          return;
        }
        if (run.spine.leases != null) {
          // From now on the lease is renewed only as long as the handling may take.
          run.spine.leases.handlingStarted(delivery, run.spine.handlingLimit);
        }
      }
      if (targets == null) {
        run.spine.touch(System.nanoTime());
        run.spine.countUnhandled(event);
        settle();
        return;
      }
      while (index < targets.length) {
        OrganRuntime organ = targets[index];
        attempt++;
        Throwable failure = null;
        Emission emission = null;
        HandlingObserver.Scope scope = run.observe(event, organ.name);
        boolean timed = organ.begin();
        long start = 0;
        if (timed) {
          start = System.nanoTime();
          run.spine.touch(start);
        }
        try {
          emission = invoke(organ);
        } catch (Throwable t) {
          failure = unwrap(t);
        }
        if (timed) {
          organ.record(System.nanoTime() - start);
        }
        int before = out.size();
        if (failure == null && emission != null) {
          try {
            out = collect(organ, emission, out, scope == null ? Map.of() : run.extra(scope));
          } catch (UndeclaredEmissionException e) {
            failure = e;
          }
        }
        if (scope != null) {
          run.observed(scope, failure, failure == null ? out.subList(before, out.size()) : null);
        }
        if (failure != null && !failed(organ, failure)) {
          return; // retry scheduled, event nacked, or the Spine is failing
        }
        index++;
        attempt = 0;
        firstFailure = null;
      }
      settle();
    } catch (VirtualMachineError e) {
      failRun(e);
      throw e;
    } catch (RuntimeException e) {
      // A bug in a policy or backend call: never lose the event over it.
      failRun(new SpineException("unexpected failure handling " + describe(), e));
    }
  }

  private Emission invoke(OrganRuntime organ) throws Exception {
    if (organ.async) {
      return invokeAsync(organ);
    }
    if (organ.timeoutNanos <= 0) {
      return organ.organ.handle(event);
    }
    return underWatchdog(organ, () -> organ.organ.handle(event));
  }

  /** A call that may throw anything a handler may. */
  private interface Call<T> {
    T call() throws Exception;
  }

  /** Runs the call under the watchdog: interrupted past the organ's timeout, then failed. */
  private <T> T underWatchdog(OrganRuntime organ, Call<T> call) throws Exception {
    Watchdog.Invocation invocation = run.watchdog.begin(organ.timeoutNanos);
    T result;
    try {
      result = call.call();
    } catch (Throwable t) {
      if (run.watchdog.end(invocation)) {
        throw new HandlerTimeoutException(organ.name, organ.policy.timeout());
      }
      throw t;
    }
    if (run.watchdog.end(invocation)) {
      throw new HandlerTimeoutException(organ.name, organ.policy.timeout()); // late: discarded
    }
    return result;
  }

  /**
   * An async organ: the timeout covers the whole handling, the synchronous part of {@code
   * handleAsync} (under the watchdog, as a sync handler) and the wait for its stage. The wait
   * also watches for a stop: once the Spine is stopping, a stage that has not completed within
   * the drain timeout is given up and its event given back, so a stage that never completes
   * cannot hang run() or stop() (with the timeout off, nothing else would end the wait).
   */
  private Emission invokeAsync(OrganRuntime organ) throws Exception {
    AsyncOrgan async = (AsyncOrgan) organ.organ;
    long timeout = organ.timeoutNanos;
    long start = timeout > 0 ? System.nanoTime() : 0;
    CompletionStage<Emission> stage =
        timeout > 0 ? underWatchdog(organ, () -> async.handleAsync(event))
            : async.handleAsync(event);
    if (stage == null) {
      throw new NullPointerException("organ '" + organ.name + "' returned a null stage");
    }
    CompletableFuture<Emission> future = stage.toCompletableFuture();
    long wait = run.stopCheckNanos;
    if (timeout > 0) {
      wait = Math.min(wait, timeout);
    }
    while (true) {
      try {
        return future.get(Math.max(0, wait), TimeUnit.NANOSECONDS); // at once if done
      } catch (TimeoutException e) {
        long now = System.nanoTime();
        if (timeout > 0 && now - (start + timeout) >= 0) {
          throw new HandlerTimeoutException(organ.name, organ.policy.timeout());
        }
        wait = run.stopCheckNanos;
        if (run.stopping()) {
          // Give up when the Spine's own drain wait ends, not a slice later.
          long left = run.drainDeadline(now) - now;
          if (left <= 0) {
            throw new StageAbandoned(organ.name);
          }
          wait = Math.min(wait, left);
        }
        if (timeout > 0) {
          wait = Math.min(wait, start + timeout - now);
        }
      }
    }
  }

  private static Throwable unwrap(Throwable t) {
    if (t instanceof ExecutionException && t.getCause() != null) {
      return t.getCause();
    }
    return t;
  }

  /**
   * Applies the organ's policy to a failed attempt.
   *
   * @return true to go on with the next organ; false when this task is finished or waiting
   */
  private boolean failed(OrganRuntime organ, Throwable failure) {
    if (failure instanceof VirtualMachineError vme) {
      throw vme;
    }
    if (failure instanceof StageAbandoned
        || failure instanceof InterruptedException && run.stopping()) {
      abandon(); // stopping mid-handling: the event is not handled
      return false;
    }
    Instant now = Instant.now();
    if (firstFailure == null) {
      firstFailure = now;
    }
    if (failure instanceof HandlerTimeoutException) {
      run.spine.timedOut.increment();
    }
    HandlerPolicy policy = organ.policy;
    Next next = afterFailure(policy.retry().shouldRetry(attempt, failure), run.stopping());
    if (next == Next.GIVE_BACK) {
      givenBackAtStop(organ.name, failure);
      return false;
    }
    if (next == Next.RETRY) {
      run.spine.retried.increment();
      long delay = policy.retry().delayNanos(attempt);
      run.spine.log.atInfo()
          .addKeyValue("event_id", event.id())
          .addKeyValue("event_type", event.eventType())
          .addKeyValue("organ", organ.name)
          .addKeyValue("attempt", attempt)
          .addKeyValue("retry_in_ms", TimeUnit.NANOSECONDS.toMillis(delay))
          .addKeyValue("error", failure.toString())
          .log("handler failed; retry scheduled");
      scheduleContinuation(delay);
      return false;
    }
    run.spine.handlerFailed(organ.name, event, failure, attempt);
    switch (policy.outcome()) {
      case LOG -> {
        return true;
      }
      case DEAD_LETTER -> {
        run.spine.deadLetter(new DeadLetter(event, "handler failed", organ.name,
            failure.getClass().getName(), failure.getMessage(), attempt, firstFailure, now));
        return true;
      }
      case NACK -> {
        String reason = "organ '" + organ.name + "' failed: " + failure;
        Duration delay = policy.retry().nackDelay();
        Backend backend = run.spine.backend;
        if (!delay.isZero() && backend instanceof DelayedRedelivery delayed) {
          delayed.nack(delivery, reason, delay);
        } else {
          backend.nack(delivery, reason);
        }
        run.spine.nacked.increment();
        finish();
        return false;
      }
      case FAIL -> {
        failRun(new SpineException("organ '" + organ.name + "' failed on " + describe()
            + " and its policy is FAIL: " + failure, failure));
        return false;
      }
      default -> throw new IllegalStateException("unknown outcome " + policy.outcome());
    }
  }

  /** What follows a failed attempt, before the outcome of the policy is looked at. */
  enum Next {
    /** Try again after the policy's backoff. */
    RETRY,
    /** Give the event back to the backend, unsettled: a stop is no verdict on it. */
    GIVE_BACK,
    /** No attempt left: the policy's outcome applies. */
    OUTCOME
  }

  /**
   * The decision after a failed attempt (of a handler or of a commit). A stop never turns a
   * failure that still had attempts left into its final outcome: LOG would acknowledge it,
   * DEAD_LETTER or NACK settle it, FAIL stop the Spine over it, though the cause may be
   * passing (a SIGTERM during an outage). It goes back to the backend instead, left pending
   * or redelivered, and is tried again by the next run or another consumer.
   *
   * @param attemptsLeft whether the policy would try again
   * @param stopping whether the Spine is stopping
   */
  static Next afterFailure(boolean attemptsLeft, boolean stopping) {
    if (!attemptsLeft) {
      return Next.OUTCOME;
    }
    return stopping ? Next.GIVE_BACK : Next.RETRY;
  }

  private void givenBackAtStop(String organ, Throwable failure) {
    run.spine.log.atInfo()
        .addKeyValue("event_id", event.id())
        .addKeyValue("event_type", event.eventType())
        .addKeyValue("organ", organ)
        .addKeyValue("attempt", organ == null ? commitAttempt : attempt)
        .addKeyValue("error", failure.toString())
        .log("failed while the spine is stopping, with attempts left: given back, not retried");
    abandon();
  }

  /** Re-enters {@link #run()} (or the commit) after the delay, on a worker. */
  private void scheduleContinuation(long delayNanos) {
    detached = true; // before the timer can run it: the loop reads it once run() returns
    state = WAITING;
    run.waiting.add(this);
    try {
      wakeUp = run.timer.schedule(() -> {
        if (STATE.compareAndSet(this, WAITING, RUNNING)) {
          run.waiting.remove(this);
          run.execute(this, this::resume);
        }
      }, delayNanos, TimeUnit.NANOSECONDS);
    } catch (RejectedExecutionException e) {
      // The run ended while this handling outlived its drain timeout: no timer any more.
      if (STATE.compareAndSet(this, WAITING, RUNNING)) {
        run.waiting.remove(this);
        run.rejected(this, e);
      }
    }
  }

  private void resume() {
    if (index < (targets == null ? 0 : targets.length)) {
      run();
      return;
    }
    guarded(this::settle); // a commit's retry
  }

  /** Called when the Spine stops: a waiting task gives its event back instead of waiting. */
  void cancelWaiting() {
    if (STATE.compareAndSet(this, WAITING, DONE)) {
      if (wakeUp != null) {
        wakeUp.cancel(false);
      }
      abandon();
    }
  }

  // ---------------------------------------------------------------- emissions

  private List<Event> collect(OrganRuntime organ, Emission emission, List<Event> sofar,
      Map<String, String> extra) throws UndeclaredEmissionException {
    if (emission instanceof Event single) {
      checkDeclared(organ, single);
      Event stamped = stamp(single, extra);
      if (stamped == null) {
        return sofar;
      }
      if (sofar.isEmpty()) {
        return List.of(stamped); // the usual one event: one small immutable list
      }
      List<Event> grown = mutable(sofar, 1);
      grown.add(stamped);
      return grown;
    }
    List<Event> events = ((Emission.Events) emission).list();
    for (Event e : events) {
      checkDeclared(organ, e);
    }
    List<Event> grown = sofar;
    for (Event e : events) {
      Event stamped = stamp(e, extra);
      if (stamped != null) {
        if (!(grown instanceof ArrayList)) {
          grown = mutable(grown, events.size());
        }
        grown.add(stamped);
      }
    }
    return grown;
  }

  /** The list itself if this task made it growable, else a growable copy with room. */
  private static List<Event> mutable(List<Event> list, int more) {
    if (list instanceof ArrayList) {
      return list;
    }
    List<Event> copy = new ArrayList<>(list.size() + more);
    copy.addAll(list);
    return copy;
  }

  private static void checkDeclared(OrganRuntime organ, Event e)
      throws UndeclaredEmissionException {
    Set<String> declared = organ.emits;
    if (!declared.isEmpty() && !declared.contains(e.eventType())) {
      throw new UndeclaredEmissionException("organ '" + organ.name
          + "' emitted undeclared event type '" + e.eventType() + "' (declared: " + declared
          + ")");
    }
  }

  /**
   * The emitted event with the Spine's metadata: correlation id inherited from the cause (or
   * the cause's id), causation id = the cause's id, depth = the cause's depth + 1. Null if
   * it went past the depth limit and was dead-lettered.
   */
  private Event stamp(Event e, Map<String, String> extra) {
    if (!stampReady) {
      // Once per handled event, in the task itself: no separate object per event.
      inherited = event.metadata().get(Event.CORRELATION_ID);
      depth = event.depth() + 1;
      stampReady = true;
    }
    Map<String, String> own = e.metadata();
    Map<String, String> metadata;
    if (extra.isEmpty() && own.isEmpty()) {
      // The common case, once per emitted event: see StampedMetadata for why not Map.of.
      metadata = new StampedMetadata(inherited, event.id(), depth);
    } else {
      metadata = new HashMap<>(extra);
      metadata.putAll(own);
      metadata.putIfAbsent(Event.CORRELATION_ID, inherited != null ? inherited : causeId());
      metadata.put(Event.CAUSATION_ID, causeId());
      metadata.put(Event.DEPTH, Integer.toString(depth));
    }
    Event stamped = new Event(e.id(), e.timestamp(), e.eventType(), e.payload(), metadata);
    if (depth > run.spine.maxDepth) {
      Instant now = Instant.now();
      run.spine.deadLetter(new DeadLetter(stamped, "max depth exceeded", null, null,
          "depth " + depth + " is over maxDepth " + run.spine.maxDepth, 0, now, now));
      return null;
    }
    return stamped;
  }

  /** The cause's id as text, formatted once and only where a plain map needs it. */
  private String causeId() {
    if (causeId == null) {
      causeId = event.id().toString();
    }
    return causeId;
  }

  // ---------------------------------------------------------------- settling

  private void settle() {
    Spine spine = run.spine;
    if (out.isEmpty()) {
      try {
        spine.backend.ack(delivery);
      } catch (RuntimeException e) {
        spine.ackFailed(delivery, e);
      }
      spine.processed.increment();
      finish();
      return;
    }
    try {
      spine.backend.commit(delivery, out);
    } catch (RuntimeException e) {
      commitFailed(e);
      return;
    }
    spine.processed.increment();
    spine.emitted.add(out.size());
    if (spine.log.isDebugEnabled()) {
      spine.log.atDebug()
          .addKeyValue("event_id", event.id())
          .addKeyValue("event_type", event.eventType())
          .addKeyValue("emitted", out.size())
          .log("event handled");
    }
    finish();
  }

  /**
   * Applies the emit-failure policy to a refused commit of this event's emissions: at once
   * when the commit threw, or later for a settle a {@link BufferedSettles} backend refused
   * after the commit had returned (see {@link #refused}). Either way only this event's policy.
   */
  private void commitFailed(RuntimeException e) {
    Spine spine = run.spine;
    commitAttempt++;
    for (Event emitted : out) {
      spine.countEnqueueFailure(emitted.eventType());
    }
    EmitFailurePolicy policy = spine.emitFailurePolicy;
    Next next = afterFailure(policy.mode() == EmitFailurePolicy.Mode.RETRY
        && policy.retry().shouldRetry(commitAttempt, e), run.stopping());
    if (next == Next.GIVE_BACK) {
      givenBackAtStop(null, e);
      return;
    }
    if (next == Next.RETRY) {
      spine.retried.increment();
      index = targets == null ? 0 : targets.length;
      scheduleContinuation(policy.retry().delayNanos(commitAttempt));
      return;
    }
    if (policy.mode() == EmitFailurePolicy.Mode.DEAD_LETTER) {
      Instant now = Instant.now();
      for (Event emitted : out) {
        spine.deadLetter(new DeadLetter(emitted, "enqueue refused", null,
            e.getClass().getName(), e.getMessage(), commitAttempt, now, now));
      }
      spine.log.atError()
          .addKeyValue("event_id", event.id())
          .addKeyValue("event_type", event.eventType())
          .addKeyValue("emitted", out.size())
          .addKeyValue("error", e.toString())
          .log("backend refused emitted events; they are dead-lettered");
      out = List.of();
      settle();
      return;
    }
    spine.log.atError()
        .addKeyValue("event_id", event.id())
        .addKeyValue("event_type", event.eventType())
        .addKeyValue("emitted", out.size())
        .addKeyValue("error", e.toString())
        .log("backend refused emitted events; stopping, the event is given back");
    failRun(new SpineException("backend refused the " + out.size()
        + " event(s) emitted while handling " + describe() + ": " + e.getMessage(), e));
  }

  /**
   * A task for a settle the backend refused after this event's handling had ended: its
   * emissions, the attempts so far, and nothing left to run but the commit.
   */
  static EventTask refused(Spine.Run run, BufferedSettles.RefusedSettle refused,
      long sequence) {
    EventTask task = new EventTask(run, refused.delivery(), null, sequence);
    task.started = true;
    task.out = refused.emitted();
    task.commitAttempt = refused.attempt() - 1; // commitFailed counts this refusal
    return task;
  }

  /** Applies the emit-failure policy to the refusal {@link #refused} was made for. */
  void settleRefused(RuntimeException refusal) {
    guarded(() -> commitFailed(refusal));
  }

  /** Runs a settling step; a bug in a policy or backend call fails the run, never loses it. */
  private void guarded(Runnable step) {
    try {
      step.run();
    } catch (VirtualMachineError e) {
      failRun(e);
      throw e;
    } catch (RuntimeException e) {
      failRun(new SpineException("unexpected failure settling " + describe(), e));
    }
  }

  /**
   * Ends the task without handling its event, which goes back to the backend: on a stop, or
   * when the executor refuses the task's next step.
   */
  void abandon() {
    run.giveBack(sequence, delivery);
    finish();
  }

  /** Ends the task and the run: the event goes back, and the Spine stops with the failure. */
  private void failRun(Throwable failure) {
    run.fail(failure);
    abandon();
  }

  private void finish() {
    if (!completed) {
      completed = true;
      run.complete(this);
    }
  }

  private String describe() {
    return event.eventType() + " " + event.id();
  }

  /** An async stage still running a drain timeout after the Spine began to stop. */
  static final class StageAbandoned extends Exception {
    private static final long serialVersionUID = 1L;

    StageAbandoned(String organ) {
      super("organ '" + organ + "': stage not complete within the drain timeout of a stop;"
          + " the event is given back", null, false, false);
    }
  }

  /** An organ emitted a type it did not declare. */
  static final class UndeclaredEmissionException extends Exception {
    private static final long serialVersionUID = 1L;

    UndeclaredEmissionException(String message) {
      super(message, null, false, false);
    }
  }
}
