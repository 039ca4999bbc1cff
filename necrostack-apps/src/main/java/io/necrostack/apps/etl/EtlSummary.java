package io.necrostack.apps.etl;

import java.util.List;

/**
 * The result of an ETL run over a whole input.
 *
 * <p>Every row read is either loaded or rejected: {@code rowsRead == rowsLoaded +
 * rowsRejected}. Only the first {@link #MAX_LISTED_REJECTIONS} rejections are kept with their
 * reasons, to bound memory on large bad files; the count is always complete.
 *
 * @param source the input's name
 * @param chunks chunks extracted
 * @param rowsRead rows read after the header, blank lines excluded
 * @param rowsLoaded rows that passed cleaning and were aggregated
 * @param rowsRejected rows rejected as malformed or unusable
 * @param blankLines blank lines skipped
 * @param departments per-department aggregates, sorted by department
 * @param rejections the first rejections, in row order within each chunk
 */
public record EtlSummary(
    String source,
    long chunks,
    long rowsRead,
    long rowsLoaded,
    long rowsRejected,
    long blankLines,
    List<DepartmentSummary> departments,
    List<Rejection> rejections) {

  /** How many rejections are kept with their reasons. */
  public static final int MAX_LISTED_REJECTIONS = 100;

  /** Copies the lists. */
  public EtlSummary {
    departments = List.copyOf(departments);
    rejections = List.copyOf(rejections);
  }
}
