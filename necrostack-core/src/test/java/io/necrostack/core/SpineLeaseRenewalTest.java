package io.necrostack.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.necrostack.backend.Delivery;
import io.necrostack.backend.Drainable;
import io.necrostack.backend.LeaseRenewal;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The Spine tells a backend with {@link LeaseRenewal} when each handling starts, and its limit. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class SpineLeaseRenewalTest {

  /** Records every call; drainable, so a run ends. */
  static final class Leasing extends TestBackends.NonDrainable
      implements Drainable, LeaseRenewal {
    final List<String> started = new CopyOnWriteArrayList<>();
    final Set<Duration> limits = ConcurrentHashMap.newKeySet();

    @Override
    public void handlingStarted(Delivery delivery, Duration limit) {
      started.add(delivery.event().payload().get("i").toString());
      limits.add(limit);
    }

    @Override
    public boolean isDrained() {
      return inner.isDrained();
    }
  }

  private static Event work(int i) {
    return Event.of("WORK", Map.of("i", i));
  }

  @Test
  void everyHandlingIsReportedOnceBeforeItsOrgansRunWithTheLongestHandlingTheRoutesAllow() {
    Leasing backend = new Leasing();
    List<String> startedBeforeOrgan = new CopyOnWriteArrayList<>();
    Organ first = Organ.builder("first").listensTo("WORK").handle(e -> {
      startedBeforeOrgan.add(String.valueOf(backend.started.contains(
          e.payload().get("i").toString())));
      return Emission.none();
    });
    Organ second = Organ.builder("second").listensTo("WORK").handle(e -> Emission.none());
    Organ other = Organ.builder("other").listensTo("OTHER").handle(e -> Emission.none());
    Spine spine = Spine.builder().organs(first, second, other).backend(backend)
        .handlerPolicy(HandlerPolicy.DEFAULT.withTimeout(Duration.ofSeconds(2)))
        .organPolicy("second", HandlerPolicy.DEFAULT.withTimeout(Duration.ofSeconds(3)))
        .organPolicy("other", HandlerPolicy.DEFAULT.withTimeout(Duration.ofSeconds(4)))
        .build();

    spine.run(work(1), work(2), work(3));

    assertThat(backend.started).containsExactly("1", "2", "3");
    assertThat(startedBeforeOrgan).containsOnly("true");
    // WORK runs two organs one after the other: 2 s + 3 s is longer than OTHER's 4 s.
    assertThat(backend.limits).containsExactly(Duration.ofSeconds(5));
  }

  @Test
  void theLimitCountsEveryAttemptAndTheLongestWaitsBetweenThem() {
    Leasing backend = new Leasing();
    AtomicInteger attempts = new AtomicInteger();
    Organ flaky = Organ.on("WORK", e -> {
      if (attempts.incrementAndGet() < 3) {
        throw new IllegalStateException("not yet");
      }
      return Emission.none();
    });
    Spine spine = Spine.builder().organs(flaky).backend(backend).concurrency(4)
        .handlerPolicy(HandlerPolicy.DEFAULT.withTimeout(Duration.ofSeconds(1))
            .withRetry(RetryPolicy.exponentialBackoff(3, Duration.ofMillis(10),
                Duration.ofMillis(15))))
        .build();

    spine.run(work(1));

    assertThat(attempts.get()).isEqualTo(3);
    assertThat(backend.started).as("a retry's continuation is the same handling")
        .containsExactly("1");
    // Three attempts of at most 1 s, and waits of at most 10 ms and 15 ms between them.
    assertThat(backend.limits).containsExactly(Duration.ofMillis(3025));
  }

  @Test
  void anOrganWithoutATimeoutLeavesTheHandlingUnbounded() {
    Leasing backend = new Leasing();
    Organ timed = Organ.builder("timed").listensTo("WORK").handle(e -> Emission.none());
    Organ untimed = Organ.builder("untimed").listensTo("OTHER").handle(e -> Emission.none());
    Spine spine = Spine.builder().organs(timed, untimed).backend(backend)
        .organPolicy("untimed", HandlerPolicy.DEFAULT.withTimeout(Duration.ZERO))
        .build();

    spine.run(work(1));

    assertThat(backend.limits).containsExactly(Duration.ZERO);
  }

  @Test
  void theLongestHandlingSaturatesInsteadOfOverflowing() {
    RetryPolicy forever = new RetryPolicy(Integer.MAX_VALUE, Duration.ofSeconds(1),
        Duration.ofDays(365 * 100), 0, t -> true, Duration.ZERO);

    assertThat(forever.longestHandlingNanos(TimeUnit.SECONDS.toNanos(30)))
        .isEqualTo(Long.MAX_VALUE);
    assertThat(RetryPolicy.NONE.longestHandlingNanos(0)).isEqualTo(Long.MAX_VALUE);
    assertThat(RetryPolicy.NONE.longestHandlingNanos(7)).isEqualTo(7);
  }
}
