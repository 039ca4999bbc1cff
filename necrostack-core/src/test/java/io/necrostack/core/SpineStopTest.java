package io.necrostack.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.necrostack.backend.BackendException;
import io.necrostack.backend.Delivery;
import io.necrostack.backend.InMemoryBackend;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * A stop never turns a failure that had attempts left into its final outcome: the event goes
 * back to the backend, unsettled. On a non-drainable backend, as a durable one: a SIGTERM
 * during an outage must not acknowledge (LOG), dead-letter, nack or fail over the events that
 * fail meanwhile.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SpineStopTest {
  private static final RetryPolicy FIVE_TRIES =
      RetryPolicy.exponentialBackoff(5, Duration.ofMillis(5), Duration.ofMillis(20));

  private final InMemoryBackend memory = new InMemoryBackend();
  private final TestBackends.NonDrainable durable = new TestBackends.NonDrainable(memory);

  /** An organ that fails its first attempt, once the test released it, after a stop. */
  private static final class FailsAfterRelease {
    final CountDownLatch entered = new CountDownLatch(1);
    final CountDownLatch release = new CountDownLatch(1);
    final AtomicInteger calls = new AtomicInteger();

    Organ organ(Emission emits) {
      return Organ.builder("outage").listensTo("GO").handle(e -> {
        calls.incrementAndGet();
        entered.countDown();
        release.await(30, TimeUnit.SECONDS);
        if (emits != null) {
          return emits; // the commit is what fails
        }
        throw new BackendException("downstream unreachable");
      });
    }
  }

  private SpineStats stopDuringTheFirstAttempt(Spine spine, FailsAfterRelease organ)
      throws Exception {
    CompletableFuture<SpineStats> running = spine.start(Event.of("GO"));
    assertThat(organ.entered.await(20, TimeUnit.SECONDS)).isTrue();
    spine.stop();
    organ.release.countDown();
    return running.get(20, TimeUnit.SECONDS); // no SpineException, whatever the outcome
  }

  @ParameterizedTest(name = "{0} at concurrency {1}")
  @CsvSource({"LOG, 1", "DEAD_LETTER, 1", "NACK, 1", "FAIL, 1", "LOG, 4", "FAIL, 4"})
  void aHandlerFailingDuringAStopWithAttemptsLeftIsGivenBackNotSettled(FailureOutcome outcome,
      int concurrency) throws Exception {
    FailsAfterRelease organ = new FailsAfterRelease();
    Spine spine = Spine.builder().organs(organ.organ(null)).backend(durable)
        .concurrency(concurrency).pollTimeout(Duration.ofMillis(20))
        .handlerPolicy(HandlerPolicy.DEFAULT.withRetry(FIVE_TRIES).withOutcome(outcome))
        .build();

    SpineStats stats = stopDuringTheFirstAttempt(spine, organ);
    spine.close();

    assertThat(organ.calls).as("not retried after the stop").hasValue(1);
    assertThat(memory.size()).as("given back, not acknowledged").isEqualTo(1);
    assertThat(memory.unsettled()).isZero();
    assertThat(stats.processed()).isZero();
    assertThat(stats.handlerErrors()).as("no outcome applied").isEmpty();
    assertThat(stats.deadLettered()).isZero();
    assertThat(stats.nacked()).isZero();
    assertThat(stats.retried()).isZero();
  }

  @Test
  void aHandlerFailingItsLastAttemptDuringAStopGetsItsOutcome() throws Exception {
    FailsAfterRelease organ = new FailsAfterRelease();
    Spine spine = Spine.builder().organs(organ.organ(null)).backend(durable)
        .pollTimeout(Duration.ofMillis(20))
        .handlerPolicy(HandlerPolicy.DEFAULT.withOutcome(FailureOutcome.LOG)) // one attempt
        .build();

    SpineStats stats = stopDuringTheFirstAttempt(spine, organ);

    assertThat(stats.handlerErrors()).containsEntry("outage", 1L);
    assertThat(stats.processed()).isEqualTo(1);
    assertThat(memory.size()).as("LOG acknowledged it: its attempts were used up").isZero();
  }

  @Test
  void aRefusedCommitDuringAStopUnderTheRetryPolicyIsGivenBackAndTheSpineDoesNotFail()
      throws Exception {
    RefusingCommits refusing = new RefusingCommits(memory);
    FailsAfterRelease organ = new FailsAfterRelease();
    Spine spine = Spine.builder().organs(organ.organ(Event.of("NEXT"))).backend(refusing)
        .pollTimeout(Duration.ofMillis(20))
        .emitFailurePolicy(EmitFailurePolicy.retry(FIVE_TRIES))
        .build();

    SpineStats stats = stopDuringTheFirstAttempt(spine, organ);

    assertThat(refusing.refused).hasValue(1);
    assertThat(memory.size()).as("given back, nothing emitted").isEqualTo(1);
    assertThat(memory.unsettled()).isZero();
    assertThat(stats.retried()).isZero();
    assertThat(stats.emitted()).isZero();
  }

  /** A non-drainable backend whose commits are all refused, as by a backend that is down. */
  static final class RefusingCommits extends TestBackends.NonDrainable {
    final AtomicInteger refused = new AtomicInteger();

    RefusingCommits(InMemoryBackend inner) {
      super(inner);
    }

    @Override
    public void commit(Delivery delivery, List<Event> emitted) {
      refused.incrementAndGet();
      throw new BackendException("backend unreachable");
    }
  }
}
