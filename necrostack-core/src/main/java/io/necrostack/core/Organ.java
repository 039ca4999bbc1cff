package io.necrostack.core;

import java.util.Map;
import java.util.Set;

/**
 * A pluggable handler: listens to event types and may emit new events.
 *
 * <p>Implement {@link #listensTo()} and {@link #handle(Event)} for a synchronous organ, or
 * implement {@link AsyncOrgan} for one that returns a {@link java.util.concurrent.CompletionStage}.
 * For small organs use a lambda: {@code Organ.on("GREET", event -> Event.of("GREETED"))}, or
 * {@link #builder(String)} to also name it and declare what it emits.
 *
 * <p>The Spine calls an organ for every event whose type it listens to, in registration order
 * with the other organs. An organ that throws has failed for that event; what follows is the
 * Spine's failure policy. Unless the Spine is configured with concurrency above one, an organ
 * is called by one thread at a time.
 */
public interface Organ {

  /** The event types this organ handles: non-empty, no blank entries. */
  Set<String> listensTo();

  /**
   * The event types this organ may emit, or an empty set when undeclared (the default). When
   * declared, the Spine rejects any other emission as a failure of this organ.
   */
  default Set<String> emits() {
    return Set.of();
  }

  /**
   * The classes (records, usually) that describe the payloads of some of the types this organ
   * listens to or emits, by event type; empty by default. A declaration documents the event
   * (the AsyncAPI export of {@link EventGraph#toAsyncApi} turns it into a payload schema); the
   * Spine does not check payloads against it.
   */
  default Map<String, Class<?>> payloadTypes() {
    return Map.of();
  }

  /** The organ's name, unique within a Spine; by default the class's simple name. */
  default String name() {
    String simple = getClass().getSimpleName();
    return simple.isEmpty() ? getClass().getName() : simple;
  }

  /**
   * Handles one event and returns what it emits: {@link Emission#none()}, an {@link Event}, or
   * {@link Emission#of(Event...)}. Null counts as none.
   *
   * @throws Exception any failure; the Spine's policy decides what happens to the event
   */
  Emission handle(Event event) throws Exception;

  /** Called once when the Spine starts, before the first event. No-op by default. */
  default void onStart() throws Exception {}

  /** Called once when the Spine stops, after the last event. No-op by default. */
  default void onStop() throws Exception {}

  /**
   * An organ named {@code on(TYPE)} that handles one event type with a lambda.
   *
   * @param eventType the type to listen to
   * @param handler what to do with each event
   */
  static Organ on(String eventType, Handler handler) {
    return builder("on(" + eventType + ")").listensTo(eventType).handle(handler);
  }

  /**
   * An async organ named {@code on(TYPE)} that handles one event type with a lambda.
   *
   * @param eventType the type to listen to
   * @param handler returns a stage that completes with what the event emits
   */
  static AsyncOrgan onAsync(String eventType, AsyncHandler handler) {
    return builder("on(" + eventType + ")").listensTo(eventType).handleAsync(handler);
  }

  /** A builder for an organ with the given name, from lambdas. */
  static OrganBuilder builder(String name) {
    return new OrganBuilder(name);
  }

  /** A synchronous handler function: one event in, its emission out. */
  @FunctionalInterface
  interface Handler {
    /**
     * Handles an event.
     *
     * @throws Exception any failure
     */
    Emission handle(Event event) throws Exception;
  }

  /** An asynchronous handler function: one event in, a stage of its emission out. */
  @FunctionalInterface
  interface AsyncHandler {
    /** Starts handling an event; the stage completes with the emission or fails. */
    java.util.concurrent.CompletionStage<Emission> handle(Event event);
  }
}
