package io.necrostack.opentelemetry;

import static org.assertj.core.api.Assertions.assertThat;

import io.necrostack.backend.InMemoryBackend;
import io.necrostack.core.Emission;
import io.necrostack.core.Event;
import io.necrostack.core.HandlerPolicy;
import io.necrostack.core.Organ;
import io.necrostack.core.RetryPolicy;
import io.necrostack.core.Spine;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.SpanId;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Scope;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.EventData;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Spans per handling, with the SDK's in-memory exporter, on a real Spine. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TracingObserverTest {
  private final InMemorySpanExporter exporter = InMemorySpanExporter.create();
  private final OpenTelemetrySdk otel = sdk(exporter);
  private final TracingObserver tracing = new TracingObserver(otel);
  /** The span each handler saw as current, by organ. */
  private final Map<String, SpanContext> seen = new ConcurrentHashMap<>();

  @AfterEach
  void shutDown() {
    otel.close();
  }

  private static OpenTelemetrySdk sdk(InMemorySpanExporter exporter) {
    // The simple processor exports each span when it ends, on the ending thread: no waiting.
    return OpenTelemetrySdk.builder()
        .setTracerProvider(SdkTracerProvider.builder()
            .addSpanProcessor(SimpleSpanProcessor.create(exporter)).build())
        .build();
  }

  private Organ step(String name, String type, String emits) {
    return Organ.builder(name).listensTo(type).handle(e -> {
      seen.put(name, Span.current().getSpanContext());
      return emits == null ? Emission.none() : Event.of(emits);
    });
  }

  @Test
  void aChainOfThreeHandlingsIsOneTraceOfParentAndChildren() {
    Spine spine = Spine.builder().backend(new InMemoryBackend())
        .organs(step("first", "A", "B"), step("second", "B", "C"), step("third", "C", null))
        .observer(tracing).build();
    Event start = Event.of("A");

    spine.run(start);

    List<SpanData> spans = exporter.getFinishedSpanItems();
    assertThat(spans).hasSize(3);
    SpanData a = byName(spans, "first process A");
    SpanData b = byName(spans, "second process B");
    SpanData c = byName(spans, "third process C");
    assertThat(spans).extracting(SpanData::getTraceId).containsOnly(a.getTraceId());
    assertThat(a.getParentSpanId()).isEqualTo(SpanId.getInvalid());
    assertThat(b.getParentSpanId()).isEqualTo(a.getSpanId());
    assertThat(c.getParentSpanId()).isEqualTo(b.getSpanId());
    assertThat(b.getParentSpanContext().isRemote()).as("parent came through metadata").isTrue();
    assertThat(spans).extracting(SpanData::getKind).containsOnly(SpanKind.CONSUMER);
    assertThat(spans).extracting(s -> s.getStatus().getStatusCode())
        .containsOnly(StatusCode.UNSET);

    assertThat(a.getAttributes().get(TracingObserver.MESSAGE_ID)).isEqualTo(start.id().toString());
    assertThat(a.getAttributes().get(TracingObserver.EVENT_TYPE)).isEqualTo("A");
    assertThat(a.getAttributes().get(TracingObserver.ORGAN)).isEqualTo("first");
    assertThat(a.getAttributes().get(TracingObserver.MESSAGING_SYSTEM)).isEqualTo("necrostack");
    assertThat(a.getAttributes().get(TracingObserver.EMITTED)).isEqualTo(1L);
    assertThat(c.getAttributes().get(TracingObserver.EMITTED)).isZero();
    // Correlation id: the chain's first event's id, on every later step.
    assertThat(c.getAttributes().get(TracingObserver.CONVERSATION_ID))
        .isEqualTo(start.id().toString());
    assertThat(c.getAttributes().get(TracingObserver.DEPTH)).isEqualTo(2L);

    // Each synchronous handler ran with its own span current.
    assertThat(seen.get("first")).isEqualTo(a.getSpanContext());
    assertThat(seen.get("second")).isEqualTo(b.getSpanContext());
    assertThat(seen.get("third")).isEqualTo(c.getSpanContext());
    assertThat(Span.current().getSpanContext().isValid()).as("no span left current").isFalse();
  }

  @Test
  void aFailedHandlingEndsWithErrorAndTheException() {
    Organ broken = Organ.builder("broken").listensTo("A").handle(e -> {
      throw new IllegalStateException("boom");
    });
    Spine spine = Spine.builder().backend(new InMemoryBackend()).organs(broken)
        .observer(tracing).build();

    spine.run(Event.of("A"));

    SpanData span = byName(exporter.getFinishedSpanItems(), "broken process A");
    assertThat(span.getStatus().getStatusCode()).isEqualTo(StatusCode.ERROR);
    assertThat(span.getStatus().getDescription()).isEqualTo("boom");
    assertThat(span.getAttributes().get(TracingObserver.ERROR_TYPE))
        .isEqualTo(IllegalStateException.class.getName());
    assertThat(span.getEvents()).singleElement().satisfies(event -> {
      assertThat(event.getName()).isEqualTo("exception");
      assertThat(attribute(event, "exception.type"))
          .isEqualTo(IllegalStateException.class.getName());
      assertThat(attribute(event, "exception.message")).isEqualTo("boom");
    });
  }

  @Test
  void eachAttemptOfARetriedHandlingIsASpanAndTheSuccessfulOneParentsTheNextStep() {
    AtomicInteger calls = new AtomicInteger();
    Organ flaky = Organ.builder("flaky").listensTo("A").handle(e -> {
      if (calls.incrementAndGet() == 1) {
        throw new IllegalStateException("first try fails");
      }
      return Event.of("B");
    });
    RetryPolicy once = new RetryPolicy(2, Duration.ZERO, Duration.ZERO, 0, t -> true,
        Duration.ZERO);
    Spine spine = Spine.builder().backend(new InMemoryBackend())
        .organs(flaky, step("next", "B", null))
        .organPolicy("flaky", HandlerPolicy.DEFAULT.withRetry(once))
        .observer(tracing).build();

    spine.run(Event.of("A"));

    List<SpanData> spans = exporter.getFinishedSpanItems();
    List<SpanData> attempts = spans.stream()
        .filter(s -> s.getName().equals("flaky process A")).toList();
    assertThat(attempts).hasSize(2);
    assertThat(attempts).extracting(s -> s.getStatus().getStatusCode())
        .containsExactly(StatusCode.ERROR, StatusCode.UNSET);
    assertThat(attempts.get(0).getTraceId()).as("no shared parent: each attempt is a root")
        .isNotEqualTo(attempts.get(1).getTraceId());
    SpanData next = byName(spans, "next process B");
    assertThat(next.getParentSpanId()).isEqualTo(attempts.get(1).getSpanId());
    assertThat(next.getTraceId()).isEqualTo(attempts.get(1).getTraceId());
  }

  @Test
  void concurrentChainsKeepTheirOwnTraces() {
    Spine spine = Spine.builder().backend(new InMemoryBackend())
        .organs(step("first", "A", "B"), step("second", "B", null))
        .concurrency(8).observer(tracing).build();
    Event[] starts = new Event[100];
    for (int i = 0; i < starts.length; i++) {
      starts[i] = Event.of("A");
    }

    spine.run(starts);

    List<SpanData> spans = exporter.getFinishedSpanItems();
    assertThat(spans).hasSize(200);
    Map<String, SpanData> firstByEventId = new HashMap<>();
    for (SpanData span : spans) {
      if (span.getName().equals("first process A")) {
        firstByEventId.put(span.getAttributes().get(TracingObserver.MESSAGE_ID), span);
      }
    }
    assertThat(firstByEventId).hasSize(100);
    assertThat(firstByEventId.values()).extracting(SpanData::getTraceId).doesNotHaveDuplicates();
    for (SpanData span : spans) {
      if (span.getName().equals("second process B")) {
        SpanData cause = firstByEventId.get(span.getAttributes().get(TracingObserver.CAUSATION_ID));
        assertThat(span.getParentSpanId()).isEqualTo(cause.getSpanId());
        assertThat(span.getTraceId()).isEqualTo(cause.getTraceId());
      }
    }
  }

  @Test
  void anEventArrivingWithATraceparentContinuesThatTrace() {
    String traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    String parentId = "00f067aa0ba902b7";
    Event incoming = Event.of("A").withMetadata(Map.of(
        TracingObserver.TRACEPARENT, "00-" + traceId + "-" + parentId + "-01",
        TracingObserver.TRACESTATE, "vendor=x"));
    Spine spine = Spine.builder().backend(new InMemoryBackend())
        .organs(step("first", "A", "B"), step("second", "B", null)).observer(tracing).build();

    spine.run(incoming);

    SpanData a = byName(exporter.getFinishedSpanItems(), "first process A");
    SpanData b = byName(exporter.getFinishedSpanItems(), "second process B");
    assertThat(a.getTraceId()).isEqualTo(traceId);
    assertThat(a.getParentSpanId()).isEqualTo(parentId);
    assertThat(a.getSpanContext().getTraceState().get("vendor")).isEqualTo("x");
    assertThat(b.getTraceId()).isEqualTo(traceId);
    assertThat(b.getParentSpanId()).isEqualTo(a.getSpanId());
  }

  @Test
  void aChainCrossingProcessesThroughMetadataIsOneTrace() {
    // Two Spines with their own backends and tracer providers stand for two processes; the
    // metadata of the hand-over event is copied as the Redis backend carries its fields.
    Map<String, Event> handedOver = new ConcurrentHashMap<>();
    Organ producer = step("producer", "ORDER", "PAY");
    Organ outbox = Organ.builder("outbox").listensTo("PAY").handle(e -> {
      handedOver.put("PAY", e);
      return Emission.none();
    });
    Spine first = Spine.builder().backend(new InMemoryBackend()).organs(producer, outbox)
        .observer(tracing).build();
    first.run(Event.of("ORDER"));

    InMemorySpanExporter otherExporter = InMemorySpanExporter.create();
    try (OpenTelemetrySdk otherProcess = sdk(otherExporter)) {
      Event sent = handedOver.get("PAY");
      Event received = new Event(null, null, sent.eventType(), sent.payload(),
          new HashMap<>(sent.metadata()));
      Spine second = Spine.builder().backend(new InMemoryBackend())
          .organs(step("payer", "PAY", null)).observer(new TracingObserver(otherProcess)).build();
      second.run(received);

      SpanData order = byName(exporter.getFinishedSpanItems(), "producer process ORDER");
      SpanData pay = byName(otherExporter.getFinishedSpanItems(), "payer process PAY");
      assertThat(pay.getTraceId()).isEqualTo(order.getTraceId());
      assertThat(pay.getParentSpanId()).isEqualTo(order.getSpanId());
    }
  }

  @Test
  @SuppressWarnings("try") // the scope is used for its effect: the request span is current
  void aProducerInsideATracedRequestStartsTheChainInItsTrace() {
    Tracer tracer = otel.getTracer("test");
    Span request = tracer.spanBuilder("request").startSpan();
    Event start;
    try (Scope ignored = request.makeCurrent()) {
      start = tracing.withCurrentContext(Event.of("A"));
    } finally {
      request.end();
    }
    assertThat(tracing.withCurrentContext(Event.of("A")).metadata())
        .as("no current span: unchanged").isEmpty();
    Spine spine = Spine.builder().backend(new InMemoryBackend())
        .organs(step("first", "A", null)).observer(tracing).build();

    spine.run(start);

    SpanData a = byName(exporter.getFinishedSpanItems(), "first process A");
    assertThat(a.getTraceId()).isEqualTo(request.getSpanContext().getTraceId());
    assertThat(a.getParentSpanId()).isEqualTo(request.getSpanContext().getSpanId());
  }

  private static SpanData byName(List<SpanData> spans, String name) {
    return spans.stream().filter(s -> s.getName().equals(name)).findFirst()
        .orElseThrow(() -> new AssertionError("no span named '" + name + "' in " + spans));
  }

  private static String attribute(EventData event, String key) {
    return event.getAttributes().get(AttributeKey.stringKey(key));
  }
}
