package io.necrostack.backend;

import java.time.Duration;

/**
 * An optional backend ability: it keeps the deliveries it handed out from being taken over by
 * another consumer while this one still holds them, by renewing their leases (the Redis
 * backend: their idle time) until they are settled or given back.
 *
 * <p>A delivery waiting in a pulled batch is renewed as long as the consumer makes progress.
 * Once its handling has started, it is renewed for at most the limit given here: a handling
 * stuck past it (a handler that ignores its timeout's interrupt) lets its lease lapse, and
 * another consumer takes the delivery over as it would after a crash.
 *
 * <p>A Spine calls {@link #handlingStarted} once per delivery, on the thread that handles it.
 * Implementations must keep it cheap: no I/O, no lock.
 */
public interface LeaseRenewal {

  /**
   * Tells the backend that the handling of a delivery it handed out has started.
   *
   * @param limit the longest the handling may take (the Spine passes what its handler
   *     timeouts, retries and their waits allow); zero for no bound
   */
  void handlingStarted(Delivery delivery, Duration limit);
}
