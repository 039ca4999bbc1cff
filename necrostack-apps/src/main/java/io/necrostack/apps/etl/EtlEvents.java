package io.necrostack.apps.etl;

/**
 * The event types of the ETL chain.
 *
 * <p>The main line is {@code ETL_START → RAW_DATA_LOADED → DATA_CLEANED → DATA_TRANSFORMED};
 * each chunk of rows travels it as its own events. {@link #ETL_NEXT_CHUNK} asks the extractor
 * for the next chunk, so only a few chunks are ever queued; {@link #ETL_FAILED} ends a run
 * whose input cannot be read.
 */
public final class EtlEvents {
  /** Starts an extraction: the input (absent for the built-in sample) and the chunk size. */
  public static final String ETL_START = "ETL_START";

  /** Asks the extractor for the next chunk of the extraction in progress. */
  public static final String ETL_NEXT_CHUNK = "ETL_NEXT_CHUNK";

  /** One chunk of raw rows (strings as read), plus rows rejected as malformed. */
  public static final String RAW_DATA_LOADED = "RAW_DATA_LOADED";

  /** One chunk of trimmed, typed rows, plus every row rejected so far in the chunk. */
  public static final String DATA_CLEANED = "DATA_CLEANED";

  /** One chunk's per-department aggregates; the reporter merges them across chunks. */
  public static final String DATA_TRANSFORMED = "DATA_TRANSFORMED";

  /** The input cannot be read (missing file, bad header, malformed CSV); ends the run. */
  public static final String ETL_FAILED = "ETL_FAILED";

  private EtlEvents() {}
}
