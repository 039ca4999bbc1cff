package io.necrostack.apps.run;

import io.necrostack.backend.Backend;
import io.necrostack.backend.Drainable;
import io.necrostack.core.Event;
import io.necrostack.core.HandlingObserver;
import io.necrostack.core.Spine;
import io.necrostack.core.SpineException;
import io.necrostack.core.SpineStats;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Runs a chain until it is finished, on a backend that drains (in memory) or one that never
 * does (Redis).
 *
 * <p>A drainable backend ends the run by itself once its queue is empty. A Redis stream never
 * drains, so the app says when its chain is finished by completing a future (its last organ
 * does, once it has printed); the runner then stops the Spine. A handler failure on such a
 * backend stops the Spine at once too: the demos do not retry, so the chain can no longer
 * finish and waiting for the timeout would only delay the error. Either way the run is bounded
 * by {@link RunOptions#timeout()}.
 */
public final class ChainRunner {
  private ChainRunner() {}

  /**
   * Builds the Spine, runs it from {@code start} until the chain is finished, and closes it.
   *
   * @param builder the Spine's organs, backend and limits; the runner adds its observers
   * @param backend the backend given to the builder (not closed here)
   * @param start the event that starts the chain
   * @param finished completed by the app when its chain is done
   * @return the Spine's statistics at the end of the run
   * @throws ChainTimeoutException if the run took longer than the timeout
   * @throws SpineException (or another runtime exception) if the Spine stopped on an error
   */
  public static SpineStats run(Spine.Builder builder, Backend backend, Event start,
      CompletableFuture<?> finished, RunOptions options) {
    Objects.requireNonNull(builder, "builder == null");
    Objects.requireNonNull(backend, "backend == null");
    Objects.requireNonNull(start, "start == null");
    Objects.requireNonNull(finished, "finished == null");
    Objects.requireNonNull(options, "options == null");
    boolean drains = backend instanceof Drainable;
    CompletableFuture<Void> stopSignal = new CompletableFuture<>();
    if (!drains) {
      finished.whenComplete((r, e) -> stopSignal.complete(null));
      builder.observer(new StopOnFailure(stopSignal));
    }
    options.hooks().configure(builder);
    Spine spine = builder.build();
    try (spine) {
      options.hooks().built(spine);
      stopSignal.whenComplete((r, e) -> spine.stop());
      CompletableFuture<SpineStats> running = spine.start(start);
      try {
        return options.timeout().isZero()
            ? running.get()
            : running.get(options.timeout().toNanos(), TimeUnit.NANOSECONDS);
      } catch (TimeoutException e) {
        spine.stop();
        SpineStats stats = spine.stats();
        throw new ChainTimeoutException(options.timeout(),
            stats.processed() + " event(s) handled, " + stats.totalHandlerErrors()
                + " handler error(s)");
      } catch (ExecutionException e) {
        Throwable cause = e.getCause();
        if (cause instanceof RuntimeException r) {
          throw r;
        }
        if (cause instanceof Error err) {
          throw err;
        }
        throw new IllegalStateException("the spine stopped: " + cause, cause);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        spine.stop();
        throw new IllegalStateException("interrupted while the chain ran", e);
      }
    }
  }

  /** A duration as people write it: {@code 60 s}, {@code 1.5 s}, {@code 250 ms}. */
  static String describe(Duration d) {
    if (d.toMillis() % 1000 == 0) {
      return d.toSeconds() + " s";
    }
    return d.toMillis() < 1000 ? d.toMillis() + " ms" : (d.toMillis() / 1000.0) + " s";
  }

  /** Signals a stop at the first failed handling (final: the demos do not retry). */
  private record StopOnFailure(CompletableFuture<Void> stopSignal) implements HandlingObserver {
    @Override
    public Scope begin(Event event, String organ) {
      return new Scope() {
        @Override
        public void failure(Throwable error) {
          stopSignal.complete(null);
        }
      };
    }
  }
}
