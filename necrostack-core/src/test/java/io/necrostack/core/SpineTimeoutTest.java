package io.necrostack.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.necrostack.backend.InMemoryBackend;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Timeouts cover the whole handling, and a stage that never completes cannot hang a stop. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SpineTimeoutTest {
  private final InMemoryBackend memory = new InMemoryBackend();

  @ParameterizedTest(name = "concurrency {0}")
  @ValueSource(ints = {1, 3})
  void theSynchronousPartOfAnAsyncOrganIsUnderTheHandlerTimeout(int concurrency) {
    AtomicBoolean interrupted = new AtomicBoolean();
    AsyncOrgan slowToStart = Organ.onAsync("GO", e -> {
      try {
        new CountDownLatch(1).await(10, TimeUnit.SECONDS); // blocking before the stage exists
      } catch (InterruptedException ie) {
        interrupted.set(true);
      }
      return CompletableFuture.completedFuture(Event.of("LATE"));
    });
    Spine spine = Spine.builder().organs(slowToStart).backend(memory).concurrency(concurrency)
        .handlerPolicy(HandlerPolicy.DEFAULT.withTimeout(Duration.ofMillis(100))).build();

    SpineStats stats = spine.run(Event.of("GO"));
    spine.close();

    assertThat(interrupted).as("interrupted by the watchdog").isTrue();
    assertThat(stats.timedOut()).isEqualTo(1);
    assertThat(stats.handlerErrors()).containsEntry(slowToStart.name(), 1L);
    assertThat(stats.emitted()).as("the late result is discarded").isZero();
    assertThat(memory.isDrained()).isTrue();
  }

  @ParameterizedTest(name = "concurrency {0}")
  @ValueSource(ints = {1, 3})
  void aStageThatNeverCompletesWithTheTimeoutOffIsGivenBackAfterTheDrainTimeoutOfAStop(
      int concurrency) throws Exception {
    TestBackends.NonDrainable durable = new TestBackends.NonDrainable(memory);
    CountDownLatch called = new CountDownLatch(1);
    CompletableFuture<Emission> never = new CompletableFuture<>();
    AsyncOrgan hanging = Organ.onAsync("GO", e -> {
      called.countDown();
      return never;
    });
    Spine spine = Spine.builder().organs(hanging).backend(durable).concurrency(concurrency)
        .pollTimeout(Duration.ofMillis(20)).drainTimeout(Duration.ofMillis(200))
        .handlerPolicy(HandlerPolicy.DEFAULT.withTimeout(Duration.ZERO)).build();

    CompletableFuture<SpineStats> running = spine.start(Event.of("GO"));
    assertThat(called.await(20, TimeUnit.SECONDS)).isTrue();
    spine.close(); // returns after the drain timeout, not never
    SpineStats stats = running.get(20, TimeUnit.SECONDS);
    // Above concurrency 1 the worker may give it back just after the run ended.
    await().atMost(Duration.ofSeconds(20)).until(() -> memory.size() == 1);
    never.complete(Event.of("LATE"));

    assertThat(memory.unsettled()).isZero();
    assertThat(memory.pull(10, Duration.ZERO)).as("the event, not its late result")
        .extracting(d -> d.event().eventType()).containsExactly("GO");
    assertThat(stats.processed()).isZero();
    assertThat(stats.handlerErrors()).isEmpty();
  }
}
