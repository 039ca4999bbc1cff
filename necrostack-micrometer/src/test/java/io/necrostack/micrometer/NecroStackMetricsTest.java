package io.necrostack.micrometer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.FunctionTimer;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MockClock;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleConfig;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.necrostack.backend.InMemoryBackend;
import io.necrostack.core.Emission;
import io.necrostack.core.Event;
import io.necrostack.core.FailureOutcome;
import io.necrostack.core.HandlerPolicy;
import io.necrostack.core.Organ;
import io.necrostack.core.RetryPolicy;
import io.necrostack.core.Spine;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The handling observer and the Spine binder, on a real Spine over the in-memory backend. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class NecroStackMetricsTest {
  private final InMemoryBackend backend = new InMemoryBackend();
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();

  /** A chain ORDER -> (split) 2 x ITEM -> SHIP for one, a failure for the other. */
  private Spine chain(NecroStackMetrics metrics, Organ... extra) {
    Organ split = Organ.builder("split").listensTo("ORDER")
        .handle(e -> Emission.of(Event.of("ITEM", java.util.Map.of("n", 1)),
            Event.of("ITEM", java.util.Map.of("n", 2))));
    Organ pack = Organ.builder("pack").listensTo("ITEM").handle(e -> {
      if (((Number) e.payload().get("n")).intValue() == 2) {
        throw new IllegalStateException("out of boxes");
      }
      return Event.of("SHIP");
    });
    Organ ship = Organ.builder("ship").listensTo("SHIP").handle(e -> Emission.none());
    Spine.Builder b = Spine.builder().backend(backend).organs(split, pack, ship).observer(metrics);
    for (Organ o : extra) {
      b.organs(o);
    }
    return b.build();
  }

  @Test
  void countsEveryHandlingWithItsTypeOrganAndOutcome() {
    NecroStackMetrics metrics = new NecroStackMetrics();
    Spine spine = chain(metrics);
    metrics.monitor(spine).bindTo(registry);

    spine.run(Event.of("ORDER"));

    assertThat(handlings("ORDER", "split", "success")).isEqualTo(1);
    assertThat(handlings("ITEM", "pack", "success")).isEqualTo(1);
    assertThat(handlings("ITEM", "pack", "failure")).isEqualTo(1);
    assertThat(handlings("SHIP", "ship", "success")).isEqualTo(1);
    assertThat(registry.find(NecroStackMetrics.HANDLING).timers()).hasSize(4);
    assertThat(registry.get(NecroStackMetrics.HANDLING_EMITTED)
        .tags("event.type", "ITEM", "organ", "split").counter().count()).isEqualTo(2);
    assertThat(registry.get(NecroStackMetrics.HANDLING_EMITTED)
        .tags("event.type", "SHIP", "organ", "pack").counter().count()).isEqualTo(1);
    assertThat(registry.find(NecroStackMetrics.HANDLING_EMITTED).counters()).hasSize(2);
  }

  @Test
  void bindsTheSpineCountersAndGauges() {
    NecroStackMetrics metrics = new NecroStackMetrics();
    Spine spine = chain(metrics, Organ.on("NEVER", e -> Emission.none()));
    metrics.monitor(spine).bindTo(registry);

    spine.run(Event.of("ORDER"));

    // ORDER, 2 x ITEM, SHIP: 4 processed; 2 ITEM + 1 SHIP emitted.
    assertThat(functionCounter("necrostack.events.processed")).isEqualTo(4);
    assertThat(functionCounter("necrostack.events.emitted")).isEqualTo(3);
    assertThat(functionCounter("necrostack.events.retried")).isZero();
    assertThat(functionCounter("necrostack.events.dead.lettered")).isZero();
    assertThat(functionCounter("necrostack.events.timed.out")).isZero();
    assertThat(registry.get("necrostack.handler.errors").tag("organ", "pack")
        .functionCounter().count()).isEqualTo(1);
    assertThat(registry.get("necrostack.handler.errors").tag("organ", "split")
        .functionCounter().count()).isZero();
    assertThat(registry.get("necrostack.handler.errors").tag("organ", "on(NEVER)")
        .functionCounter().count()).isZero();
    FunctionTimer packTime = registry.get("necrostack.organ.handling").tag("organ", "pack")
        .functionTimer();
    assertThat(packTime.count()).isEqualTo(2);
    assertThat(gauge("necrostack.events.in.flight")).isZero();
    assertThat(gauge("necrostack.spine.running")).isZero();
    assertThat(gauge("necrostack.backend.up")).isEqualTo(1);
    // In-memory backend figures: every event enqueued (1 start + 3 emitted) and acked.
    assertThat(gauge("necrostack.backend.enqueued")).isEqualTo(4);
    assertThat(gauge("necrostack.backend.acked")).isEqualTo(4);
    assertThat(gauge("necrostack.backend.queued")).isZero();
    assertThat(gauge("necrostack.backend.unsettled")).isZero();
    // "capacity" is "unbounded" here, not a number: no gauge.
    assertThat(registry.find("necrostack.backend.capacity").gauge()).isNull();
  }

  @Test
  void countsRetriesAndDeadLetters() {
    AtomicInteger calls = new AtomicInteger();
    Organ flaky = Organ.builder("flaky").listensTo("A").handle(e -> {
      if (calls.incrementAndGet() <= 2) {
        throw new IllegalStateException("try again");
      }
      return Emission.none();
    });
    Organ broken = Organ.builder("broken").listensTo("B").handle(e -> {
      throw new IllegalStateException("never works");
    });
    RetryPolicy twoRetries =
        new RetryPolicy(3, Duration.ZERO, Duration.ZERO, 0, t -> true, Duration.ZERO);
    NecroStackMetrics metrics = new NecroStackMetrics();
    Spine spine = Spine.builder().backend(backend).organs(flaky, broken)
        .organPolicy("flaky", HandlerPolicy.DEFAULT.withRetry(twoRetries))
        .organPolicy("broken", HandlerPolicy.DEFAULT.withOutcome(FailureOutcome.DEAD_LETTER))
        .observer(metrics).build();
    metrics.monitor(spine).bindTo(registry);

    spine.run(Event.of("A"), Event.of("B"));

    assertThat(handlings("A", "flaky", "failure")).isEqualTo(2);
    assertThat(handlings("A", "flaky", "success")).isEqualTo(1);
    assertThat(handlings("B", "broken", "failure")).isEqualTo(1);
    assertThat(functionCounter("necrostack.events.retried")).isEqualTo(2);
    assertThat(functionCounter("necrostack.events.dead.lettered")).isEqualTo(1);
    assertThat(functionCounter("necrostack.events.processed")).isEqualTo(2);
    assertThat(registry.get("necrostack.handler.errors").tag("organ", "flaky")
        .functionCounter().count()).isZero();
    assertThat(registry.get("necrostack.handler.errors").tag("organ", "broken")
        .functionCounter().count()).isEqualTo(1);
  }

  @Test
  void countsExactlyUnderConcurrentHandling() {
    NecroStackMetrics metrics = new NecroStackMetrics();
    Organ work = Organ.builder("work").listensTo("JOB").handle(e -> Event.of("DONE"));
    Organ done = Organ.builder("done").listensTo("DONE").handle(e -> Emission.none());
    Spine spine = Spine.builder().backend(backend).organs(work, done).concurrency(8)
        .observer(metrics).build();
    metrics.monitor(spine).bindTo(registry);
    Event[] jobs = new Event[500];
    for (int i = 0; i < jobs.length; i++) {
      jobs[i] = Event.of("JOB");
    }

    spine.run(jobs);

    assertThat(handlings("JOB", "work", "success")).isEqualTo(500);
    assertThat(handlings("DONE", "done", "success")).isEqualTo(500);
    assertThat(registry.get(NecroStackMetrics.HANDLING_EMITTED).tag("organ", "work").counter()
        .count()).isEqualTo(500);
    assertThat(functionCounter("necrostack.events.processed")).isEqualTo(1000);
    assertThat(gauge("necrostack.events.in.flight")).isZero();
  }

  @Test
  void backendHealthIsSampledLazilyAndCached() {
    MockClock clock = new MockClock();
    SimpleMeterRegistry timed = new SimpleMeterRegistry(SimpleConfig.DEFAULT, clock);
    NecroStackMetrics metrics =
        NecroStackMetrics.builder().healthCache(Duration.ofSeconds(1)).build();
    Spine spine = Spine.builder().backend(backend).organs(Organ.on("A", e -> Emission.none()))
        .observer(metrics).build();
    metrics.monitor(spine).bindTo(timed);
    Gauge queued = timed.get("necrostack.backend.queued").gauge();
    assertThat(queued.value()).isZero();

    backend.enqueue(Event.of("A"));
    backend.enqueue(Event.of("A"));
    assertThat(queued.value()).as("still the cached sample").isZero();

    clock.add(Duration.ofMillis(999));
    assertThat(queued.value()).as("999 ms later, still cached").isZero();
    clock.add(Duration.ofMillis(1));
    assertThat(queued.value()).as("1 s later, sampled again").isEqualTo(2);
  }

  @Test
  void declaredBackendDetailsReadNaNWhileAbsent() {
    NecroStackMetrics metrics = NecroStackMetrics.builder()
        .healthCache(Duration.ZERO).backendDetails("group_lag", "queued").build();
    Spine spine = Spine.builder().backend(backend).organs(Organ.on("A", e -> Emission.none()))
        .build();
    metrics.monitor(spine).bindTo(registry);

    assertThat(gauge("necrostack.backend.group.lag")).isNaN();
    assertThat(registry.find("necrostack.backend.queued").gauges()).hasSize(1);
    assertThat(NecroStackMetrics.backendMeterName("Dead-Letter count"))
        .isEqualTo("necrostack.backend.dead.letter.count");
  }

  @Test
  void percentileHistogramsAreOptional() {
    // The simple registry ignores histograms; Prometheus publishes them as _bucket series.
    PrometheusMeterRegistry plainRegistry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    PrometheusMeterRegistry histogramRegistry =
        new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    NecroStackMetrics plain = new NecroStackMetrics();
    NecroStackMetrics histograms = NecroStackMetrics.builder().percentileHistograms(true)
        .tag("spine", "h").build();
    plain.bindTo(plainRegistry);
    histograms.bindTo(histogramRegistry);
    Spine spine = Spine.builder().backend(backend).organs(Organ.on("A", e -> Emission.none()))
        .observer(plain).observer(histograms).build();

    spine.run(Event.of("A"));

    assertThat(plainRegistry.get(NecroStackMetrics.HANDLING).timer().count()).isEqualTo(1);
    assertThat(histogramRegistry.get(NecroStackMetrics.HANDLING).tag("spine", "h").timer()
        .count()).isEqualTo(1);
    assertThat(plainRegistry.scrape()).doesNotContain("necrostack_handling_seconds_bucket");
    assertThat(histogramRegistry.scrape()).contains("necrostack_handling_seconds_bucket{");
  }

  @Test
  void recordsNothingUntilBoundAndBindsOnce() {
    NecroStackMetrics metrics = new NecroStackMetrics();
    Spine spine = Spine.builder().backend(backend).organs(Organ.on("A", e -> Emission.none()))
        .observer(metrics).build();

    spine.run(Event.of("A"));
    metrics.bindTo(registry);
    spine.run(Event.of("A"));

    assertThat(handlings("A", "on(A)", "success")).isEqualTo(1);
    assertThat(registry.find("necrostack.events.processed").meter())
        .as("no spine monitored, no spine meters").isNull();
    assertThatThrownBy(() -> metrics.bindTo(new SimpleMeterRegistry()))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("already bound");
    assertThatThrownBy(() -> metrics.monitor(spine))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("before bindTo");
  }

  private long handlings(String type, String organ, String outcome) {
    Timer timer = registry.find(NecroStackMetrics.HANDLING)
        .tags("event.type", type, "organ", organ, "outcome", outcome).timer();
    return timer == null ? 0 : timer.count();
  }

  private double functionCounter(String name) {
    FunctionCounter counter = registry.get(name).functionCounter();
    return counter.count();
  }

  private double gauge(String name) {
    Meter meter = registry.get(name).meter();
    assertThat(meter).isInstanceOf(Gauge.class);
    return ((Gauge) meter).value();
  }
}
