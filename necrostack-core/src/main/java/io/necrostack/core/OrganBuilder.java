package io.necrostack.core;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletionStage;

/**
 * Builds an {@link Organ} from a name, the types it listens to and emits, and a lambda.
 *
 * <p>Obtained from {@link Organ#builder(String)}. The Spine validates the result when it is
 * registered (blank types, duplicate names, nothing to listen to).
 */
public final class OrganBuilder {
  private final String name;
  private final Set<String> listensTo = new LinkedHashSet<>();
  private final Set<String> emits = new LinkedHashSet<>();
  private final Map<String, Class<?>> payloadTypes = new LinkedHashMap<>();

  OrganBuilder(String name) {
    this.name = Objects.requireNonNull(name, "name == null");
  }

  /** Adds event types to listen to. */
  public OrganBuilder listensTo(String... eventTypes) {
    listensTo.addAll(Arrays.asList(eventTypes));
    return this;
  }

  /** Declares event types this organ may emit; any other emission is then rejected. */
  public OrganBuilder emits(String... eventTypes) {
    emits.addAll(Arrays.asList(eventTypes));
    return this;
  }

  /**
   * Adds an event type to listen to, with the class (a record, usually) its payload has, for
   * documentation: see {@link Organ#payloadTypes()}.
   */
  public OrganBuilder listensTo(String eventType, Class<?> payloadType) {
    listensTo.add(eventType);
    payloadTypes.put(eventType, Objects.requireNonNull(payloadType, "payloadType == null"));
    return this;
  }

  /**
   * Declares an event type this organ may emit, with the class (a record, usually) its payload
   * has, for documentation: see {@link Organ#payloadTypes()}.
   */
  public OrganBuilder emits(String eventType, Class<?> payloadType) {
    emits.add(eventType);
    payloadTypes.put(eventType, Objects.requireNonNull(payloadType, "payloadType == null"));
    return this;
  }

  /** Builds a synchronous organ around the handler. */
  public Organ handle(Organ.Handler handler) {
    Objects.requireNonNull(handler, "handler == null");
    return new LambdaOrgan(name, copy(listensTo), copy(emits), Map.copyOf(payloadTypes),
        handler);
  }

  /** Builds an asynchronous organ around the handler. */
  public AsyncOrgan handleAsync(Organ.AsyncHandler handler) {
    Objects.requireNonNull(handler, "handler == null");
    return new LambdaAsyncOrgan(name, copy(listensTo), copy(emits), Map.copyOf(payloadTypes),
        handler);
  }

  // Set.copyOf would throw a bare NPE on a null type; the Spine's validation names the organ.
  private static Set<String> copy(Set<String> types) {
    return java.util.Collections.unmodifiableSet(new LinkedHashSet<>(types));
  }

  private record LambdaOrgan(
      String name, Set<String> listensTo, Set<String> emits,
      Map<String, Class<?>> payloadTypes, Organ.Handler handler)
      implements Organ {
    @Override
    public Emission handle(Event event) throws Exception {
      return handler.handle(event);
    }

    @Override
    public String toString() {
      return "Organ[" + name + "]";
    }
  }

  private record LambdaAsyncOrgan(
      String name, Set<String> listensTo, Set<String> emits,
      Map<String, Class<?>> payloadTypes, Organ.AsyncHandler handler)
      implements AsyncOrgan {
    @Override
    public CompletionStage<Emission> handleAsync(Event event) {
      return handler.handle(event);
    }

    @Override
    public String toString() {
      return "AsyncOrgan[" + name + "]";
    }
  }
}
