package io.necrostack.core;

import java.util.Collection;
import java.util.List;
import java.util.Objects;

/**
 * What a handler returns: no event, one event, or several, in the order to enqueue them.
 *
 * <p>An {@link Event} is itself an emission of one, so a handler can {@code return
 * Event.of("GREETED")} directly. Use {@link #none()} for nothing and {@link #of(Event...)} for
 * several. A handler that returns {@code null} is treated as having returned {@link #none()}.
 */
public sealed interface Emission permits Event, Emission.Events {

  /** The emission of nothing. */
  static Emission none() {
    return Events.NONE;
  }

  /**
   * An emission of the given events, enqueued in this order.
   *
   * @throws NullPointerException if an event is null
   */
  static Emission of(Event... events) {
    return of(List.of(events));
  }

  /**
   * An emission of the given events, enqueued in iteration order.
   *
   * @throws NullPointerException if the collection or an event in it is null
   */
  static Emission of(Collection<Event> events) {
    Objects.requireNonNull(events, "events == null");
    if (events.isEmpty()) {
      return Events.NONE;
    }
    return new Events(List.copyOf(events));
  }

  /**
   * Zero or several events; created by {@link Emission#none()} and {@link Emission#of}.
   *
   * @param list the events, unmodifiable
   */
  record Events(List<Event> list) implements Emission {
    static final Events NONE = new Events(List.of());

    /** Copies the list into an unmodifiable one. */
    public Events {
      list = List.copyOf(list);
    }
  }
}
