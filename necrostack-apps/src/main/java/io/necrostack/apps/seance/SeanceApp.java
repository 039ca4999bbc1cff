package io.necrostack.apps.seance;

import io.necrostack.backend.Backend;
import io.necrostack.apps.run.ChainRunner;
import io.necrostack.apps.run.ChainTimeoutException;
import io.necrostack.apps.run.RunOptions;
import io.necrostack.core.Event;
import io.necrostack.core.Organ;
import io.necrostack.core.Spine;
import io.necrostack.core.SpineStats;
import java.io.PrintStream;
import java.security.SecureRandom;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Séance demo: {@code SUMMON_RITUAL → SPIRIT_APPEARED → ANSWER_GENERATED → OMEN_REVEALED},
 * one organ per stage, and a scribe that prints the result.
 *
 * <p>Every random choice derives from a seed carried in the events, so a séance with a given
 * seed prints the same text on any backend. Not thread-safe: one {@link #run} at a time.
 */
public final class SeanceApp {
  private static final Logger log = LoggerFactory.getLogger(SeanceApp.class);
  // Summoning, answering and omen reading: 4 events; the bound only guards against a loop.
  private static final long MAX_STEPS = 100;

  private SeanceApp() {}

  /**
   * The séance organs in chain order, printing to {@code out}.
   *
   * @param out where the scribe prints the séance
   * @param onDone called once the séance is printed
   */
  public static List<Organ> organs(PrintStream out, Runnable onDone) {
    return List.of(new Summoner(), new Oracle(), new OmenReader(), new Scribe(out, onDone));
  }

  /** The event that starts a séance; a missing seed is drawn now, so the event fixes all. */
  public static Event summon(SeanceRequest request) {
    Objects.requireNonNull(request, "request == null");
    Map<String, Object> payload = new LinkedHashMap<>();
    if (request.spirit() != null) {
      payload.put("spirit", request.spirit());
    }
    payload.put("ritual", request.ritual());
    payload.put("question", request.question());
    payload.put("seed", request.seed().orElseGet(() -> new SecureRandom().nextLong()));
    return Event.of(SeanceEvents.SUMMON_RITUAL, payload);
  }

  /**
   * Runs one séance on the backend and prints it to {@code out}. Returns once it is printed,
   * also on a backend that never drains. The caller owns (and closes) the backend.
   *
   * @return the Spine's statistics for the run
   * @throws IllegalStateException if the séance ended without being printed (an organ
   *     failed; the Spine has logged why)
   */
  public static SpineStats run(SeanceRequest request, Backend backend, PrintStream out) {
    return run(request, backend, out, RunOptions.defaults());
  }

  /**
   * Like {@link #run(SeanceRequest, Backend, PrintStream)}, bounded by the options' timeout
   * and with their hooks around the Spine.
   *
   * @throws ChainTimeoutException if the séance was not printed within the timeout
   */
  public static SpineStats run(
      SeanceRequest request, Backend backend, PrintStream out, RunOptions options) {
    CompletableFuture<Void> printed = new CompletableFuture<>();
    Spine.Builder builder =
        Spine.builder()
            .organs(organs(out, () -> printed.complete(null)))
            .backend(backend)
            .maxSteps(MAX_STEPS);
    Event summons = summon(request);
    SpineStats stats = ChainRunner.run(builder, backend, summons, printed, options);
    if (!printed.isDone()) {
      throw new IllegalStateException(
          "the séance ended before the omen was written down: " + stats.handlerErrors()
              + " handler error(s), " + stats.unhandled() + " unhandled");
    }
    log.atInfo()
        .addKeyValue("seed", summons.payload().get("seed"))
        .addKeyValue("events", stats.processed())
        .log("séance complete");
    return stats;
  }
}
