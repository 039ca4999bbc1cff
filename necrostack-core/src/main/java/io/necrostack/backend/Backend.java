package io.necrostack.backend;

import io.necrostack.core.Event;
import java.time.Duration;
import java.util.List;

/**
 * Where events wait between organs: the queue a Spine pulls from and enqueues into.
 *
 * <p>The contract every backend keeps:
 *
 * <ul>
 *   <li><b>Thread safety.</b> Every method may be called from any thread. {@link #pull} may be
 *       called by one thread while others enqueue, ack and nack.
 *   <li><b>Delivery.</b> {@link #pull} hands out {@link Delivery deliveries}. Each delivery is
 *       settled exactly once by {@link #ack} (handled: forget it) or {@link #nack} (not
 *       handled: the backend redelivers it or dead-letters it, as its documentation says). A
 *       delivery never settled is redelivered by durable backends after a crash; the
 *       in-memory backend keeps it counted as unsettled. Settling twice is a caller error:
 *       a backend may ignore it or throw {@link IllegalStateException}.
 *   <li><b>Order.</b> Backends that report {@code ordering} in their features deliver in
 *       enqueue order, apart from redeliveries.
 *   <li><b>Failure.</b> Methods throw {@link BackendException} (unchecked) when the backend
 *       cannot do what was asked; {@link BackendFullException} when a bounded backend is full.
 *       An enqueue that throws has enqueued nothing of that call, where the backend can
 *       guarantee it (the in-memory one does).
 *   <li><b>Close.</b> {@link #close()} releases resources and wakes blocked pulls, which then
 *       return empty; afterwards every other call throws {@link IllegalStateException}.
 *       Closing twice is harmless.
 * </ul>
 *
 * <p>Optional abilities are separate small interfaces a backend may also implement, such as
 * {@link Drainable}.
 */
public interface Backend extends AutoCloseable {

  /**
   * Adds one event at the end of the queue.
   *
   * @throws BackendFullException if the backend is bounded and full
   * @throws BackendException if the event could not be stored
   */
  void enqueue(Event event);

  /**
   * Adds events at the end of the queue, in order. The default enqueues one at a time;
   * backends override it to batch and, where they can, to make it all-or-nothing.
   *
   * @throws BackendFullException if the backend is bounded and lacks room for all of them
   * @throws BackendException if the events could not be stored
   */
  default void enqueueAll(List<Event> events) {
    for (Event event : events) {
      enqueue(event);
    }
  }

  /**
   * Takes up to {@code maxEvents} deliveries, waiting at most {@code timeout} for the first.
   * Returns an empty list on timeout or when the backend is closed while waiting; never null.
   *
   * @param maxEvents at least 1
   * @param timeout how long to wait for the first delivery; zero does not wait
   * @throws InterruptedException if the calling thread is interrupted while waiting
   * @throws BackendException if the backend cannot be read
   */
  List<Delivery> pull(int maxEvents, Duration timeout) throws InterruptedException;

  /**
   * Marks a delivery as handled; the backend forgets it.
   *
   * @throws BackendException if the acknowledgement could not be recorded (the delivery may
   *     then be redelivered: handling is at least once)
   */
  void ack(Delivery delivery);

  /** Marks several deliveries as handled, in one round trip where the backend can. */
  default void ackAll(List<Delivery> deliveries) {
    for (Delivery delivery : deliveries) {
      ack(delivery);
    }
  }

  /**
   * Marks a delivery as not handled. The in-memory backend puts it back at the head of the
   * queue with its delivery count raised, until its max deliveries, then dead-letters it; the
   * Redis backend dead-letters it with the reason.
   *
   * @param reason why it was not handled, kept with a dead letter
   */
  void nack(Delivery delivery, String reason);

  /**
   * Gives back deliveries that were pulled but not handled, because the consumer is stopping.
   * They are delivered again later, before newer events where the backend can; this is not a
   * failure. The default does nothing, which suits durable backends: an unsettled delivery
   * stays pending and is redelivered. The in-memory backend puts them back at the head.
   */
  default void release(List<Delivery> deliveries) {}

  /**
   * Settles a handled delivery together with the events its handling emitted: enqueues them
   * in order, then acknowledges the delivery. The default does exactly that in two steps, so
   * a crash between them may redeliver the input after its outputs were stored; backends
   * that can do it atomically (Redis) override it. If the enqueue fails, the delivery is not
   * acknowledged and the exception propagates.
   */
  default void commit(Delivery delivery, List<Event> emitted) {
    if (!emitted.isEmpty()) {
      enqueueAll(emitted);
    }
    ack(delivery);
  }

  /** The backend's current health; never throws. */
  BackendHealth health();

  /** Releases resources; see the class documentation. */
  @Override
  void close();
}
