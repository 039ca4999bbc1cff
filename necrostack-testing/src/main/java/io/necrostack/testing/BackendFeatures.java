package io.necrostack.testing;

/**
 * What a backend under test can do; switches cases of {@link BackendConformanceTest} on or off.
 *
 * @param durable events and unsettled deliveries survive closing the backend and opening a
 *     new one on the same storage ({@link BackendConformanceTest#reopen} must be implemented)
 * @param consumerGroups several backend instances share one queue, each event going to one of
 *     them ({@link BackendConformanceTest#newConsumer} must be implemented)
 * @param nackRedelivers {@code nack} gives the event back for redelivery with its delivery
 *     count raised (rather than dead-lettering it)
 * @param ordering events are delivered in enqueue order
 */
public record BackendFeatures(
    boolean durable, boolean consumerGroups, boolean nackRedelivers, boolean ordering) {

  /** The features of the in-memory backend: ordered, nack redelivers, not durable. */
  public static BackendFeatures inMemory() {
    return new BackendFeatures(false, false, true, true);
  }
}
