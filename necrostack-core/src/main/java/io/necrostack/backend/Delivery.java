package io.necrostack.backend;

import io.necrostack.core.Event;

/**
 * One event handed out by {@link Backend#pull}, to be settled by ack or nack on that backend.
 *
 * <p>Backends implement it with whatever they need to settle the delivery (a stream entry
 * id, a queue node).
 */
public interface Delivery {

  /** The delivered event. */
  Event event();

  /** How many times this event has been delivered, this delivery included: 1 the first time. */
  int deliveryCount();

  /** The backend's id for this delivery, for logs (a stream entry id, a sequence number). */
  String deliveryId();
}
