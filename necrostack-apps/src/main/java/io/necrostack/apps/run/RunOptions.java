package io.necrostack.apps.run;

import java.time.Duration;
import java.util.Objects;

/**
 * How a demo runs its chain.
 *
 * @param timeout the longest a run may take before it is stopped and reported as failed;
 *     zero for no bound
 * @param hooks hooks around the run's Spine
 */
public record RunOptions(Duration timeout, SpineHooks hooks) {
  /** Checks the values. */
  public RunOptions {
    Objects.requireNonNull(timeout, "timeout == null");
    Objects.requireNonNull(hooks, "hooks == null");
    if (timeout.isNegative()) {
      throw new IllegalArgumentException("timeout must not be negative, got " + timeout);
    }
  }

  /** No time bound, no hooks: how the demos ran before they had options. */
  public static RunOptions defaults() {
    return new RunOptions(Duration.ZERO, SpineHooks.NONE);
  }
}
