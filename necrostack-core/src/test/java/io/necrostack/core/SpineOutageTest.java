package io.necrostack.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;

import io.necrostack.backend.BackendException;
import io.necrostack.backend.BackendHealth;
import io.necrostack.backend.Delivery;
import io.necrostack.backend.InMemoryBackend;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A durable backend's outage is survived: pulls retry with capped backoff as long as it lasts,
 * the Spine is not ready meanwhile and resumes on its own. A drainable (in-memory) backend keeps
 * the bound on failed pulls.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SpineOutageTest {

  /** A non-drainable backend whose pulls fail while it is down; its health says up. */
  static final class Outage extends TestBackends.NonDrainable {
    volatile boolean down;
    final AtomicInteger failedPulls = new AtomicInteger();

    Outage(InMemoryBackend inner) {
      super(inner);
    }

    @Override
    public List<Delivery> pull(int maxEvents, Duration timeout) throws InterruptedException {
      if (down) {
        failedPulls.incrementAndGet();
        throw new BackendException("connection refused");
      }
      return super.pull(maxEvents, timeout);
    }

    @Override
    public BackendHealth health() {
      return inner.health(); // up: only the failing pulls tell
    }
  }

  @Test
  void aSpineOnADurableBackendRidesOutAnOutagePastTheOldBoundAndResumesOnItsOwn()
      throws Exception {
    InMemoryBackend memory = new InMemoryBackend();
    Outage backend = new Outage(memory);
    ConcurrentLinkedQueue<Object> handled = new ConcurrentLinkedQueue<>();
    Organ work = Organ.on("WORK", e -> {
      handled.add(e.payload().get("i"));
      return null;
    });
    Spine spine = Spine.builder().organs(work).backend(backend)
        .pollTimeout(Duration.ofMillis(20)).build();
    CompletableFuture<SpineStats> running = spine.start(Event.of("WORK", java.util.Map.of("i", 0)));
    await().atMost(Duration.ofSeconds(20)).until(() -> handled.size() == 1);
    assertThat(spine.health().ready()).isTrue();

    backend.down = true;
    int bound = Spine.DEFAULT_MAX_PULL_FAILURES;
    await().atMost(Duration.ofSeconds(30)).until(() -> backend.failedPulls.get() > bound + 1);
    SpineHealth during = spine.health();
    assertThat(during.running()).as("still running past the drainable bound").isTrue();
    assertThat(during.ready()).as("not ready during the outage").isFalse();
    assertThat(during.failingPulls()).isGreaterThan(bound);
    assertThat(during.lastError()).contains("connection refused");

    memory.enqueue(Event.of("WORK", java.util.Map.of("i", 1))); // produced during the outage
    backend.down = false;
    await().atMost(Duration.ofSeconds(20)).until(() -> handled.size() == 2);
    await().atMost(Duration.ofSeconds(20)).until(() -> spine.health().ready());
    spine.close();

    SpineStats stats = running.get(20, TimeUnit.SECONDS);
    assertThat(handled).containsExactly(0, 1);
    assertThat(stats.backendErrors()).isEqualTo(backend.failedPulls.get());
    assertThat(spine.health().failingPulls()).isZero();
  }

  @Test
  void aBoundSetOnADurableBackendStillStopsTheSpine() {
    Outage backend = new Outage(new InMemoryBackend());
    backend.down = true;
    Spine spine = Spine.builder().organs(Organ.on("WORK", e -> null)).backend(backend)
        .maxPullFailures(3).build();

    BackendUnavailableException e =
        catchThrowableOfType(BackendUnavailableException.class, spine::run);

    assertThat(e).isNotNull();
    assertThat(backend.failedPulls).hasValue(3);
  }

  @Test
  void aDrainableBackendKeepsTheDefaultBoundOnFailedPulls() {
    TestBackends.Flaky flaky = new TestBackends.Flaky(1_000);
    Spine spine = Spine.builder().organs(Organ.on("WORK", e -> null)).backend(flaky).build();

    BackendUnavailableException e =
        catchThrowableOfType(BackendUnavailableException.class, spine::run);

    assertThat(e).isNotNull();
    assertThat(flaky.pulls).hasValue(Spine.DEFAULT_MAX_PULL_FAILURES);
  }
}
