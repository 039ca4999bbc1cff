package io.necrostack.micrometer;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.necrostack.backend.InMemoryBackend;
import io.necrostack.core.Emission;
import io.necrostack.core.Event;
import io.necrostack.core.Organ;
import io.necrostack.core.Spine;
import io.necrostack.core.SpineStats;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The event.type tag keeps the Spine's bound: the first 100 types, then "other". */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class EventTypeTagBoundTest {

  @Test
  void eventTypesPastTheFirstHundredShareTheOtherTag() {
    int types = SpineStats.MAX_TYPES + 50;
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    NecroStackMetrics metrics = new NecroStackMetrics();
    Organ fanOut = Organ.builder("fan").listensTo("GO").handle(e -> Emission.of(
        IntStream.range(0, types).mapToObj(i -> Event.of("T" + i)).toList()));
    Spine spine = Spine.builder().organs(fanOut).backend(new InMemoryBackend())
        .observer(metrics).build();
    metrics.monitor(spine).bindTo(registry);

    spine.run(Event.of("GO"));

    Set<String> tags = registry.find(NecroStackMetrics.HANDLING_EMITTED).counters().stream()
        .map(c -> c.getId().getTag(NecroStackMetrics.TAG_EVENT_TYPE))
        .collect(Collectors.toSet());
    assertThat(tags).hasSize(SpineStats.MAX_TYPES).contains("T0", "T98")
        .doesNotContain("T99", "T100");
    Counter other = registry.find(NecroStackMetrics.HANDLING_EMITTED)
        .tag(NecroStackMetrics.TAG_EVENT_TYPE, SpineStats.OTHER_TYPES).counter();
    assertThat(other).isNotNull();
    assertThat(other.count()).isEqualTo(51.0); // T99..T149: GO took the first tag
    double emitted = registry.find(NecroStackMetrics.HANDLING_EMITTED).counters().stream()
        .mapToDouble(Counter::count).sum();
    assertThat(emitted).isEqualTo(types);
    assertThat(registry.getMeters().stream().map(Meter::getId)
        .filter(id -> id.getName().equals(NecroStackMetrics.HANDLING)).count())
        .as("handling timers: one type, one organ, one outcome").isEqualTo(1);
  }
}
