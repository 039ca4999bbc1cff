package io.necrostack.apps.etl;

import io.necrostack.backend.Backend;
import io.necrostack.apps.run.ChainRunner;
import io.necrostack.apps.run.ChainTimeoutException;
import io.necrostack.apps.run.RunOptions;
import io.necrostack.core.Event;
import io.necrostack.core.Organ;
import io.necrostack.core.Spine;
import io.necrostack.core.SpineStats;
import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The ETL demo: {@code ETL_START → RAW_DATA_LOADED → DATA_CLEANED → DATA_TRANSFORMED} and a
 * printed summary, streaming a CSV file chunk by chunk in bounded memory.
 *
 * <p>Organs: {@code CsvExtractor} (reads one chunk per event and asks itself for the next),
 * {@code Cleaner}, {@code Transformer} (per-chunk department aggregates) and {@code
 * SummaryReporter} (merges them and prints the table). Not thread-safe: one {@link #run} at a
 * time; each run builds its own organs.
 */
public final class EtlApp {
  private static final Logger log = LoggerFactory.getLogger(EtlApp.class);

  private EtlApp() {}

  /**
   * The ETL organs in chain order.
   *
   * @param out where the summary is printed
   * @param onDone told the outcome once the run completes or fails
   */
  public static List<Organ> organs(PrintStream out, Consumer<EtlOutcome> onDone) {
    return organs(EtlRequest.sample(), out, EtlProgress.NONE, onDone);
  }

  static List<Organ> organs(
      EtlRequest request, PrintStream out, EtlProgress progress, Consumer<EtlOutcome> onDone) {
    return List.of(
        new CsvExtractor(progress),
        new Cleaner(),
        new Transformer(),
        new SummaryReporter(out, request.sourceName(), onDone));
  }

  /** The event that starts an extraction of the request's input. */
  public static Event start(EtlRequest request) {
    Map<String, Object> payload = new LinkedHashMap<>();
    if (request.input() != null) {
      payload.put("input", request.input().toAbsolutePath().toString());
    }
    payload.put("chunk_size", request.chunkSize());
    return Event.of(EtlEvents.ETL_START, payload);
  }

  /**
   * Runs the ETL on the backend, prints the summary to {@code out} and returns the outcome.
   * Returns once the outcome is known, also on a backend that never drains. The caller owns
   * (and closes) the backend.
   *
   * @param progress told the total rows read after each chunk, on the Spine's thread
   */
  public static EtlOutcome run(
      EtlRequest request, Backend backend, PrintStream out, EtlProgress progress) {
    Objects.requireNonNull(request, "request == null");
    return run(request, backend, out, progress, List.of());
  }

  /**
   * Like {@link #run(EtlRequest, Backend, PrintStream, EtlProgress)}, bounded by the options'
   * timeout (a run past it is a failure) and with their hooks around the Spine.
   */
  public static EtlOutcome run(EtlRequest request, Backend backend, PrintStream out,
      EtlProgress progress, RunOptions options) {
    Objects.requireNonNull(request, "request == null");
    return run(request, backend, out, progress, List.of(), options);
  }

  /** Like {@link #run(EtlRequest, Backend, PrintStream, EtlProgress)}, with extra organs. */
  static EtlOutcome run(
      EtlRequest request,
      Backend backend,
      PrintStream out,
      EtlProgress progress,
      List<Organ> extraOrgans) {
    return run(request, backend, out, progress, extraOrgans, RunOptions.defaults());
  }

  private static EtlOutcome run(
      EtlRequest request,
      Backend backend,
      PrintStream out,
      EtlProgress progress,
      List<Organ> extraOrgans,
      RunOptions options) {
    EtlOutcome[] outcome = new EtlOutcome[1];
    CompletableFuture<EtlOutcome> finished = new CompletableFuture<>();
    // On a drainable backend the run ends by itself once the chunks still on their way (after
    // a failure) are through; on a durable one the runner stops the Spine when this completes.
    Consumer<EtlOutcome> done =
        result -> {
          outcome[0] = result;
          finished.complete(result);
        };
    Spine.Builder builder =
        Spine.builder()
            .organs(organs(request, out, progress, done))
            .organs(extraOrgans)
            .backend(backend)
            // About four events per chunk, and each chunk one hand-off deeper than the one
            // before (the extractor asks itself for the next): any bound on steps or depth
            // would cut off a legitimately large file, and the chain ends by itself when the
            // extractor reaches the end of the input.
            .maxSteps(Long.MAX_VALUE)
            .maxDepth(Integer.MAX_VALUE);
    SpineStats stats;
    try {
      stats = ChainRunner.run(builder, backend, start(request), finished, options);
    } catch (ChainTimeoutException e) {
      return new EtlOutcome.Failure("the ETL " + e.getMessage());
    }
    if (outcome[0] == null) {
      return new EtlOutcome.Failure(
          "the ETL ended before its summary: " + stats.totalHandlerErrors()
              + " handler error(s) " + stats.handlerErrors() + " (the logs on stderr say why)");
    }
    if (outcome[0] instanceof EtlOutcome.Success success) {
      EtlSummary s = success.summary();
      log.atInfo()
          .addKeyValue("source", s.source())
          .addKeyValue("chunks", s.chunks())
          .addKeyValue("rows_read", s.rowsRead())
          .addKeyValue("rows_loaded", s.rowsLoaded())
          .addKeyValue("rows_rejected", s.rowsRejected())
          .addKeyValue("events", stats.processed())
          .log("etl finished");
    } else {
      // INFO, not WARN: the command line reports the failure to the user itself.
      log.atInfo()
          .addKeyValue("reason", ((EtlOutcome.Failure) outcome[0]).reason())
          .log("etl failed");
    }
    return outcome[0];
  }
}
