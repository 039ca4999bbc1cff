package io.necrostack.apps.etl;

import java.util.Objects;

/** How an ETL run ended: a summary, or the reason it failed. */
public sealed interface EtlOutcome {

  /**
   * The input was read to its end; rejected rows are counted in the summary.
   *
   * @param summary the result
   */
  record Success(EtlSummary summary) implements EtlOutcome {
    /** Checks the summary is present. */
    public Success {
      Objects.requireNonNull(summary, "summary == null");
    }
  }

  /**
   * The input could not be read to its end.
   *
   * @param reason what went wrong, naming the row and line when known
   */
  record Failure(String reason) implements EtlOutcome {
    /** Checks the reason is present. */
    public Failure {
      Objects.requireNonNull(reason, "reason == null");
    }
  }
}
