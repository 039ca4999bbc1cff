package io.necrostack.redis;

import io.necrostack.backend.Delivery;
import io.necrostack.core.Event;

/** A delivery from a {@link RedisBackend}: the event and its stream entry id. */
record RedisDelivery(Event event, int deliveryCount, String deliveryId, RedisBackend owner)
    implements Delivery {

  @Override
  public String toString() {
    return "RedisDelivery{" + deliveryId + ", " + event.eventType() + " " + event.id()
        + ", delivery " + deliveryCount + "}";
  }
}
