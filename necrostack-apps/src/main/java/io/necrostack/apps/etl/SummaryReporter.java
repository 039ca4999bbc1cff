package io.necrostack.apps.etl;

import io.necrostack.core.Emission;
import io.necrostack.core.Event;
import io.necrostack.core.Organ;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * The end of the ETL chain: merges each chunk's aggregates and, once every chunk has arrived,
 * prints the summary table and reports the outcome. On {@code ETL_FAILED} it reports the
 * failure instead. Emits nothing.
 *
 * <p>It knows the run is complete when it has seen the last chunk and as many chunks as that
 * chunk's number, so the order of arrival does not matter. Holds one run's totals: a run
 * builds its own reporter. Once the outcome is reported, later events are ignored: after a
 * failure, chunks read before it may still be on their way down the chain.
 */
final class SummaryReporter implements Organ {
  private final PrintStream out;
  private final String source;
  private final Consumer<EtlOutcome> onDone;
  private final Map<String, DepartmentStats> departments = new TreeMap<>();
  private final List<Rejection> rejections = new ArrayList<>();
  private boolean reported;
  private long chunks;
  private long lastChunk; // 0 until the last chunk is seen
  private long rowsRead;
  private long rowsLoaded;
  private long rowsRejected;
  private long blankLines;

  /**
   * @param out where the summary table is printed
   * @param source the input's name, for the summary
   * @param onDone told the outcome once, when the run is complete or failed
   */
  SummaryReporter(PrintStream out, String source, Consumer<EtlOutcome> onDone) {
    this.out = Objects.requireNonNull(out, "out == null");
    this.source = Objects.requireNonNull(source, "source == null");
    this.onDone = Objects.requireNonNull(onDone, "onDone == null");
  }

  @Override
  public Set<String> listensTo() {
    return Set.of(EtlEvents.DATA_TRANSFORMED, EtlEvents.ETL_FAILED);
  }

  @Override
  public String name() {
    return "SummaryReporter";
  }

  @Override
  public Emission handle(Event event) {
    if (reported) {
      return Emission.none();
    }
    if (event.eventType().equals(EtlEvents.ETL_FAILED)) {
      reported = true;
      onDone.accept(new EtlOutcome.Failure(String.valueOf(event.payload().get("reason"))));
      return Emission.none();
    }
    Map<String, Object> p = event.payload();
    chunks++;
    rowsRead += ((Number) p.get("rows_read")).longValue();
    rowsLoaded += ((Number) p.get("rows_loaded")).longValue();
    blankLines += ((Number) p.get("blank_lines")).longValue();
    List<?> rejected = (List<?>) p.get("rejected");
    rowsRejected += rejected.size();
    for (Object r : rejected) {
      if (rejections.size() < EtlSummary.MAX_LISTED_REJECTIONS) {
        rejections.add(Rejection.from((Map<?, ?>) r));
      }
    }
    ((Map<?, ?>) p.get("departments"))
        .forEach(
            (name, stats) ->
                departments
                    .computeIfAbsent(name.toString(), d -> new DepartmentStats())
                    .merge(DepartmentStats.fromPayload((Map<?, ?>) stats)));
    if (Boolean.TRUE.equals(p.get("last"))) {
      lastChunk = ((Number) p.get("chunk")).longValue();
    }
    if (lastChunk > 0 && chunks == lastChunk) {
      EtlSummary summary = summary();
      reported = true;
      out.print(SummaryTable.render(summary));
      out.flush();
      onDone.accept(new EtlOutcome.Success(summary));
    }
    return Emission.none();
  }

  private EtlSummary summary() {
    List<DepartmentSummary> lines = new ArrayList<>();
    departments.forEach((name, stats) -> lines.add(stats.summary(name)));
    return new EtlSummary(
        source, chunks, rowsRead, rowsLoaded, rowsRejected, blankLines, lines, rejections);
  }
}
