package io.necrostack.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.necrostack.backend.InMemoryBackend;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Counters that stay bounded whatever the input, and failures that are counted, not silent. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SpineCountersTest {
  private static final int TYPES = SpineStats.MAX_TYPES + 50;

  private static List<Event> distinctTypes(int n) {
    return IntStream.range(0, n).mapToObj(i -> Event.of("T" + i)).toList();
  }

  @Test
  void unhandledTypesPastTheFirstHundredAreCountedTogetherAsOther() {
    InMemoryBackend backend = new InMemoryBackend();
    Spine spine = Spine.builder().organs(Organ.on("KNOWN", e -> null)).backend(backend).build();

    SpineStats stats = spine.run(distinctTypes(TYPES).toArray(new Event[0]));

    assertThat(stats.unhandled()).hasSize(SpineStats.MAX_TYPES + 1)
        .containsKeys("T0", "T99").doesNotContainKey("T100")
        .containsEntry(SpineStats.OTHER_TYPES, 50L);
    assertThat(stats.totalUnhandled()).isEqualTo(TYPES);
  }

  @Test
  void enqueueFailuresPastTheFirstHundredTypesAreCountedTogetherAsOther() {
    InMemoryBackend small = new InMemoryBackend(1); // refuses the fan-out below
    Organ fanOut = Organ.on("GO", e -> Emission.of(distinctTypes(TYPES)));
    Spine spine = Spine.builder().organs(fanOut).backend(small)
        .emitFailurePolicy(EmitFailurePolicy.DEAD_LETTER)
        .deadLetters(new InMemoryDeadLetters(1_000)).build();

    SpineStats stats = spine.run(Event.of("GO"));

    assertThat(stats.enqueueFailures()).hasSize(SpineStats.MAX_TYPES + 1)
        .containsEntry("T0", 1L).containsEntry(SpineStats.OTHER_TYPES, 50L);
    assertThat(stats.deadLettered()).isEqualTo(TYPES);
  }

  /**
   * A keyed event waits for its predecessor; when that one outlives the drain timeout, close()
   * shuts the workers down before the successor can run. The refusal is counted and logged, and
   * the event goes back to the backend.
   */
  @Test
  void aStepTheExecutorRefusesIsCountedAndItsEventGivenBack() throws Exception {
    InMemoryBackend memory = new InMemoryBackend();
    TestBackends.NonDrainable durable = new TestBackends.NonDrainable(memory);
    Event first = Event.of("K").withMetadata(Spine.ORDERING_KEY, "k");
    Event second = Event.of("K").withMetadata(Spine.ORDERING_KEY, "k");
    CountDownLatch entered = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    Organ slowFirst = Organ.on("K", e -> {
      if (e.id().equals(first.id())) {
        entered.countDown();
        release.await(30, TimeUnit.SECONDS);
      }
      return null;
    });
    Spine spine = Spine.builder().organs(slowFirst).backend(durable).concurrency(2)
        .orderingKey(Spine::metadataOrderingKey).drainTimeout(Duration.ofMillis(50))
        .pollTimeout(Duration.ofMillis(20)).build();

    CompletableFuture<SpineStats> running = spine.start(first, second);
    assertThat(entered.await(20, TimeUnit.SECONDS)).isTrue();
    spine.close(); // the drain times out; the workers are shut down
    running.get(20, TimeUnit.SECONDS);
    release.countDown();

    await().atMost(Duration.ofSeconds(20)).until(() -> spine.stats().rejected() == 1);
    await().atMost(Duration.ofSeconds(20)).until(() -> memory.size() == 1);
    List<Object> queued = new ArrayList<>();
    memory.pull(10, Duration.ZERO).forEach(d -> queued.add(d.event().id()));
    assertThat(queued).containsExactly(second.id());
  }
}
