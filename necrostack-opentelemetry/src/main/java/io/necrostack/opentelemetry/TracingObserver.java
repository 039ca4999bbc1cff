package io.necrostack.opentelemetry;

import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanBuilder;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.opentelemetry.context.propagation.TextMapPropagator;
import io.opentelemetry.context.propagation.TextMapSetter;
import io.necrostack.core.Event;
import io.necrostack.core.HandlingObserver;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Traces NecroStack with OpenTelemetry: one span per handling of an event by an organ, with the
 * W3C trace context carried in event metadata so a chain of events is one trace, across
 * processes too.
 *
 * <p>Each handling attempt gets a {@link SpanKind#CONSUMER} span named {@code "<organ> process
 * <event_type>"}. Its parent is the context found in the event's metadata ({@value
 * #TRACEPARENT}, {@value #TRACESTATE}); an event without one starts a new trace. The thread's
 * current context is deliberately not used as a fallback: a Spine worker's context belongs to
 * no event, and the trace must follow the events, not the threads. Every event the handling
 * emits receives the span's {@code traceparent} (and {@code tracestate}) in its metadata; a
 * backend that keeps metadata (the Redis backend stores it as stream fields) thereby carries
 * the trace to whichever process handles the next step.
 *
 * <p>The span is current while a synchronous handler runs, so spans the handler starts (an
 * HTTP client, a database driver) become its children. An {@link io.necrostack.core.AsyncOrgan}
 * sees it while {@code handleAsync} is called; work it hands to other threads needs {@code
 * Context.current().wrap(executor)} to keep it. A failed handling (error or timeout) ends with
 * status ERROR and the exception recorded. Thread-safe.
 */
public final class TracingObserver implements HandlingObserver {

  /** Metadata key of the W3C trace parent, as in the HTTP header. */
  public static final String TRACEPARENT = "traceparent";

  /** Metadata key of the W3C trace state, as in the HTTP header. */
  public static final String TRACESTATE = "tracestate";

  /** The instrumentation scope name of the spans. */
  public static final String INSTRUMENTATION_NAME = "io.necrostack.opentelemetry";

  // Messaging semantic conventions, and our own names where they have none.
  static final AttributeKey<String> MESSAGING_SYSTEM = AttributeKey.stringKey("messaging.system");
  static final AttributeKey<String> OPERATION_TYPE =
      AttributeKey.stringKey("messaging.operation.type");
  static final AttributeKey<String> OPERATION_NAME =
      AttributeKey.stringKey("messaging.operation.name");
  static final AttributeKey<String> DESTINATION =
      AttributeKey.stringKey("messaging.destination.name");
  static final AttributeKey<String> MESSAGE_ID = AttributeKey.stringKey("messaging.message.id");
  static final AttributeKey<String> CONVERSATION_ID =
      AttributeKey.stringKey("messaging.message.conversation_id");
  static final AttributeKey<String> CONSUMER_GROUP =
      AttributeKey.stringKey("messaging.consumer.group.name");
  static final AttributeKey<String> ERROR_TYPE = AttributeKey.stringKey("error.type");
  static final AttributeKey<String> EVENT_TYPE = AttributeKey.stringKey("necrostack.event.type");
  static final AttributeKey<String> ORGAN = AttributeKey.stringKey("necrostack.organ");
  static final AttributeKey<String> CAUSATION_ID =
      AttributeKey.stringKey("necrostack.causation_id");
  static final AttributeKey<Long> DEPTH = AttributeKey.longKey("necrostack.depth");
  static final AttributeKey<Long> EMITTED = AttributeKey.longKey("necrostack.emitted");

  // Only get() is needed: the W3C propagator looks its two headers up by name.
  private static final TextMapGetter<Map<String, String>> GETTER =
      (carrier, key) -> carrier == null ? null : carrier.get(key);

  private static final TextMapSetter<Map<String, String>> SETTER =
      (carrier, key, value) -> {
        if (carrier != null) {
          carrier.put(key, value);
        }
      };

  private final Tracer tracer;
  private final TextMapPropagator propagator;

  /**
   * Traces with the tracer of this OpenTelemetry instance and the W3C trace-context
   * propagator, whatever propagators the instance is configured with: the metadata format is
   * part of NecroStack's wire contract, so every process must agree on it.
   */
  public TracingObserver(OpenTelemetry openTelemetry) {
    this(openTelemetry, W3CTraceContextPropagator.getInstance());
  }

  /**
   * Traces with the tracer of this OpenTelemetry instance and the given propagator (e.g. a
   * composite of W3C trace context and baggage, or {@code
   * openTelemetry.getPropagators().getTextMapPropagator()}).
   */
  public TracingObserver(OpenTelemetry openTelemetry, TextMapPropagator propagator) {
    Objects.requireNonNull(openTelemetry, "openTelemetry == null");
    this.propagator = Objects.requireNonNull(propagator, "propagator == null");
    this.tracer = openTelemetry.getTracer(INSTRUMENTATION_NAME);
  }

  /**
   * The event with the current context's trace headers added to its metadata: for a producer
   * that starts a chain inside a traced request, so the chain continues the request's trace.
   * Returns the event unchanged when no span is current.
   */
  public Event withCurrentContext(Event event) {
    Objects.requireNonNull(event, "event == null");
    Map<String, String> headers = new HashMap<>();
    propagator.inject(Context.current(), headers, SETTER);
    return headers.isEmpty() ? event : event.withMetadata(headers);
  }

  @Override
  public HandlingObserver.Scope begin(Event event, String organ) {
    Context parent = propagator.extract(Context.root(), event.metadata(), GETTER);
    String type = event.eventType();
    SpanBuilder span =
        tracer
            .spanBuilder(organ + " process " + type)
            .setParent(parent)
            .setSpanKind(SpanKind.CONSUMER)
            .setAttribute(MESSAGING_SYSTEM, "necrostack")
            .setAttribute(OPERATION_TYPE, "process")
            .setAttribute(OPERATION_NAME, "process")
            .setAttribute(DESTINATION, type)
            .setAttribute(MESSAGE_ID, event.id().toString())
            .setAttribute(CONSUMER_GROUP, organ)
            .setAttribute(EVENT_TYPE, type)
            .setAttribute(ORGAN, organ)
            .setAttribute(DEPTH, (long) event.depth());
    event.correlationId().ifPresent(id -> span.setAttribute(CONVERSATION_ID, id));
    event.causationId().ifPresent(id -> span.setAttribute(CAUSATION_ID, id));
    Span started = span.startSpan();
    Context context = parent.with(started);
    return new HandlingScope(started, context, context.makeCurrent());
  }

  /** The span of one handling and the scope that makes it current on the handler's thread. */
  private final class HandlingScope implements HandlingObserver.Scope {
    private final Span span;
    private final Context context;
    // Spelled out: inside a HandlingObserver, the simple name Scope means the observer's.
    private final io.opentelemetry.context.Scope current;

    HandlingScope(Span span, Context context, io.opentelemetry.context.Scope current) {
      this.span = span;
      this.context = context;
      this.current = current;
    }

    @Override
    public Map<String, String> emittedMetadata() {
      Map<String, String> headers = new HashMap<>();
      propagator.inject(context, headers, SETTER);
      return headers;
    }

    @Override
    public void success(List<Event> emitted) {
      span.setAttribute(EMITTED, (long) emitted.size());
    }

    @Override
    public void failure(Throwable error) {
      span.setAttribute(ERROR_TYPE, error.getClass().getName());
      String message = error.getMessage();
      span.setStatus(StatusCode.ERROR, message != null ? message : error.getClass().getName());
      span.recordException(error);
    }

    @Override
    public void close() {
      // Leave the thread as it was before ending the span: a pooled worker must not keep it.
      current.close();
      span.end();
    }
  }
}
