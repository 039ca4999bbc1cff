package io.necrostack.backend;

import io.necrostack.core.Event;
import java.util.List;
import java.util.Objects;

/**
 * An optional backend ability: acks and commits buffered and sent later (the Redis backend's
 * {@code batchSettles}), so whether a settle succeeded is known only after {@link
 * Backend#ack} or {@link Backend#commit} returned.
 *
 * <p>The contract: the failure of one buffered settle is never thrown into a later, unrelated
 * call (another event's commit, a pull). A settle that could not be sent because the backend
 * was unreachable stays buffered and is sent again once it answers, so it must be safe to
 * repeat (fenced or idempotent); that is no failure of the settle. A settle the backend
 * <em>refused</em> (an error reply, such as out of memory) is kept, with its delivery and the
 * events it was to write, until the consumer {@linkplain #takeRefusedSettles() takes} it and
 * applies that delivery's own policy: a Spine applies its {@code EmitFailurePolicy} to exactly
 * the event whose settle was refused.
 */
public interface BufferedSettles {

  /**
   * Takes the settles refused since the last call, oldest first; empty if none. Cheap when
   * there are none (a Spine calls it once per pull). Never throws.
   */
  List<RefusedSettle> takeRefusedSettles();

  /**
   * A buffered settle the backend refused: the delivery is still unsettled (pending) and the
   * events were not written.
   *
   * @param delivery the delivery whose ack or commit was refused
   * @param emitted the events its commit was to write, in order; empty for an ack
   * @param error the refusal, as the backend reports it
   * @param attempt how many times a settle of this delivery has been refused, 1 the first time
   */
  record RefusedSettle(Delivery delivery, List<Event> emitted, RuntimeException error,
      int attempt) {

    /** Requires every field; copies the events. */
    public RefusedSettle {
      Objects.requireNonNull(delivery, "delivery == null");
      emitted = List.copyOf(emitted);
      Objects.requireNonNull(error, "error == null");
      if (attempt < 1) {
        throw new IllegalArgumentException("attempt must be at least 1, got " + attempt);
      }
    }
  }
}
