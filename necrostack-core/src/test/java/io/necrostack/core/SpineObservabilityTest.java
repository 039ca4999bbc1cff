package io.necrostack.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.necrostack.backend.InMemoryBackend;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Handling observers (the tracing hook) and the Spine's health. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SpineObservabilityTest {
  private final InMemoryBackend backend = new InMemoryBackend();

  @Test
  void observersSeeEveryHandlingAndStampEmittedEvents() {
    ConcurrentLinkedQueue<String> calls = new ConcurrentLinkedQueue<>();
    ConcurrentLinkedQueue<Event> received = new ConcurrentLinkedQueue<>();
    HandlingObserver tracer = (event, organ) -> {
      calls.add("begin " + organ + " " + event.eventType());
      return new HandlingObserver.Scope() {
        @Override
        public Map<String, String> emittedMetadata() {
          return Map.of("traceparent", "span-of-" + organ);
        }

        @Override
        public void success(List<Event> emitted) {
          calls.add("success " + organ + " emitted " + emitted.size());
        }

        @Override
        public void failure(Throwable error) {
          calls.add("failure " + organ + " " + error.getMessage());
        }

        @Override
        public void close() {
          calls.add("close " + organ);
        }
      };
    };
    Organ first = Organ.builder("first").listensTo("A").handle(e -> Event.of("B"));
    Organ second = Organ.builder("second").listensTo("B").handle(e -> {
      received.add(e);
      throw new IllegalStateException("nope");
    });
    Spine spine = Spine.builder().organs(first, second).backend(backend).observer(tracer).build();

    spine.run(Event.of("A"));

    assertThat(calls).containsExactly(
        "begin first A", "success first emitted 1", "close first",
        "begin second B", "failure second nope", "close second");
    assertThat(received).singleElement()
        .satisfies(e -> assertThat(e.metadata()).containsEntry("traceparent", "span-of-first")
            .containsKey(Event.CAUSATION_ID));
  }

  @Test
  void anObserverThatThrowsDoesNotBreakHandling() {
    HandlingObserver broken = (event, organ) -> {
      throw new IllegalStateException("observer bug");
    };
    Spine spine = Spine.builder().organs(Organ.on("A", e -> Event.of("B")))
        .backend(backend).observer(broken).build();

    SpineStats stats = spine.run(Event.of("A"));

    assertThat(stats.processed()).isEqualTo(2);
    assertThat(stats.emitted()).isEqualTo(1);
  }

  @Test
  void healthReportsRunningTheBackendAndTheLastError() throws Exception {
    TestBackends.NonDrainable durable = new TestBackends.NonDrainable(backend);
    Organ failing = Organ.on("A", e -> {
      throw new IllegalStateException("broken organ");
    });
    Spine spine = Spine.builder().organs(failing).backend(durable)
        .pollTimeout(Duration.ofMillis(20)).build();
    assertThat(spine.health().running()).isFalse();
    assertThat(spine.health().sinceLastEvent()).isNull();

    CompletableFuture<SpineStats> running = spine.start(Event.of("A"));
    await().atMost(Duration.ofSeconds(20)).until(() -> spine.stats().processed() == 1);
    SpineHealth health = spine.health();
    spine.stop();
    running.get(20, TimeUnit.SECONDS);

    assertThat(health.running()).isTrue();
    assertThat(health.ready()).isTrue();
    assertThat(health.backend().up()).isTrue();
    assertThat(health.lastError()).contains("broken organ");
    assertThat(health.sinceLastEvent()).isNotNull();
    assertThat(spine.health().running()).isFalse();
  }
}
