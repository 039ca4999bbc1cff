package io.necrostack.redis;

import io.necrostack.backend.Delivery;
import io.necrostack.core.Event;

/**
 * A delivery from a {@link RedisBackend}: the event, its stream entry id, and the lease the
 * backend renews until it is settled.
 */
record RedisDelivery(Event event, int deliveryCount, String deliveryId, RedisBackend owner,
    Leases.Lease lease) implements Delivery {

  @Override
  public String toString() {
    return "RedisDelivery{" + deliveryId + ", " + event.eventType() + " " + event.id()
        + ", delivery " + deliveryCount + "}";
  }
}
