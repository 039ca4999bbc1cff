package io.necrostack.backend;

/**
 * An optional backend ability: telling that nothing is left to deliver.
 *
 * <p>A Spine whose backend is drainable returns from {@code run} once the backend is drained
 * and nothing is in flight, so a finite chain of events terminates on its own.
 */
public interface Drainable {

  /**
   * True when no event is queued, scheduled for redelivery or delivered but unsettled.
   */
  boolean isDrained();
}
