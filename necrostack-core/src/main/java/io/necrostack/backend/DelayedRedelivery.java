package io.necrostack.backend;

import java.time.Duration;

/**
 * An optional backend ability: nacking a delivery to have it redelivered after a delay,
 * without blocking the consumer meanwhile.
 */
public interface DelayedRedelivery {

  /**
   * Marks a delivery as not handled, to be delivered again no sooner than {@code delay} from
   * now, with its delivery count raised. A zero delay behaves as {@link Backend#nack}.
   *
   * @param reason why it was not handled
   * @param delay how long to wait before redelivering
   */
  void nack(Delivery delivery, String reason, Duration delay);
}
