package io.necrostack.apps.etl;

/**
 * Told how far an extraction has read, after each chunk, on the Spine's thread.
 *
 * <p>The last call has {@code last} true and comes before the summary is printed, so a
 * progress line can be closed first.
 */
@FunctionalInterface
public interface EtlProgress {
  /** Progress that shows nothing. */
  EtlProgress NONE = (rowsRead, last) -> {};

  /**
   * Called after each chunk.
   *
   * @param rowsRead rows read so far, blank lines excluded
   * @param last whether the input ended with this chunk
   */
  void rowsRead(long rowsRead, boolean last);
}
