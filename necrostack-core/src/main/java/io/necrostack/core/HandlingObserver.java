package io.necrostack.core;

import java.util.List;
import java.util.Map;

/**
 * A hook around each handling of an event by an organ: for tracing, metrics or auditing.
 *
 * <p>The Spine calls {@link #begin} on the thread that runs the handler, just before it, and
 * then, on the same thread, exactly one of {@link Scope#success} or {@link Scope#failure},
 * then {@link Scope#close()}. Each attempt of a retried handling is its own scope. The
 * core has no tracing dependency: an OpenTelemetry or Micrometer module implements this.
 * Observers must be thread-safe and fast; an observer that throws is logged and ignored.
 */
public interface HandlingObserver {

  /**
   * An organ is about to handle an event.
   *
   * @param event the event, with its metadata (where a trace context arrives)
   * @param organ the organ's name
   * @return the scope of this handling; {@link Scope#NONE} when there is nothing to track
   */
  Scope begin(Event event, String organ);

  /** One handling, from {@link #begin} to {@link #close()}. */
  interface Scope extends AutoCloseable {
    /** A scope that does nothing. */
    Scope NONE = new Scope() {};

    /**
     * Metadata to add to each event this handling emits, e.g. a W3C {@code traceparent}
     * naming this handling's span. Called after the handler returned, before {@link
     * #success}.
     */
    default Map<String, String> emittedMetadata() {
      return Map.of();
    }

    /** The handler succeeded and emitted these events (after stamping). */
    default void success(List<Event> emitted) {}

    /** The handler failed (or timed out) with this error. */
    default void failure(Throwable error) {}

    /** The handling is over. */
    @Override
    default void close() {}
  }
}
