package io.necrostack.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * Organ timing with synthetic durations: every attempt counted, a fast organ timed one
 * attempt in {@link OrganRuntime#SAMPLE_EVERY}, a slow one always, and an organ that slows
 * down timed in full again at once.
 */
class OrganRuntimeTest {
  private final OrganRuntime runtime =
      new OrganRuntime(Organ.on("X", e -> null), HandlerPolicy.DEFAULT, true);

  /** Runs attempts of the given duration; returns how many were timed. */
  private int attempts(int n, long nanos) {
    int timed = 0;
    for (int i = 0; i < n; i++) {
      if (runtime.begin()) {
        runtime.record(nanos);
        timed++;
      }
    }
    return timed;
  }

  @Test
  void aSlowOrganIsTimedEveryAttempt() {
    int timed = attempts(1_000, 5_000);

    assertThat(timed).isEqualTo(1_000);
    OrganStats stats = runtime.stats();
    assertThat(stats.count()).isEqualTo(1_000);
    assertThat(stats.total()).isEqualTo(Duration.ofNanos(5_000_000));
    assertThat(stats.max()).isEqualTo(Duration.ofNanos(5_000));
  }

  @Test
  void aFastOrganIsSampledAndItsTotalExtrapolated() {
    int timed = attempts(16_000, 100);

    assertThat(timed).as("about one in %d", OrganRuntime.SAMPLE_EVERY)
        .isBetween(16_000 / OrganRuntime.SAMPLE_EVERY, 16_000 / OrganRuntime.SAMPLE_EVERY + 40);
    OrganStats stats = runtime.stats();
    assertThat(stats.count()).as("every attempt counted").isEqualTo(16_000);
    assertThat(stats.total()).isEqualTo(Duration.ofNanos(16_000 * 100));
    assertThat(stats.mean()).isEqualTo(Duration.ofNanos(100));
    assertThat(stats.max()).isEqualTo(Duration.ofNanos(100));
  }

  @Test
  void anOrganThatSlowsDownIsTimedInFullAgain() {
    attempts(1_000, 100); // fast: sampled
    int timed = 0;
    int n = 0;
    while (timed == 0) { // the next timed attempt is slow
      n++;
      if (runtime.begin()) {
        runtime.record(50_000);
        timed++;
      }
    }
    assertThat(n).isLessThanOrEqualTo(OrganRuntime.SAMPLE_EVERY);

    assertThat(attempts(100, 50_000)).as("timed in full").isEqualTo(100);
    assertThat(runtime.stats().max()).isEqualTo(Duration.ofNanos(50_000));
  }
}
