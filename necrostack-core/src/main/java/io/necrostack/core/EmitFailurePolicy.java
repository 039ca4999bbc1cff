package io.necrostack.core;

import java.util.Objects;

/**
 * What the Spine does when the backend refuses the events a handling emitted (a full
 * in-memory queue, Redis down).
 *
 * @param mode what to do
 * @param retry for {@link Mode#RETRY}: the attempts and backoff of the commit; when they run
 *     out the Spine fails as for {@link Mode#FAIL}
 */
public record EmitFailurePolicy(Mode mode, RetryPolicy retry) {

  /** The choices. */
  public enum Mode {
    /** Stop the Spine with a {@link SpineException}; the handled event is given back. */
    FAIL,
    /** Try the commit again with backoff, then fail. */
    RETRY,
    /**
     * Store the refused events in the Spine's {@link DeadLetters} (the Python original's
     * STORE) and acknowledge the handled event.
     */
    DEAD_LETTER
  }

  /** The default: stop the Spine. */
  public static final EmitFailurePolicy FAIL = new EmitFailurePolicy(Mode.FAIL, RetryPolicy.NONE);

  /** Dead-letter the refused events and go on. */
  public static final EmitFailurePolicy DEAD_LETTER =
      new EmitFailurePolicy(Mode.DEAD_LETTER, RetryPolicy.NONE);

  /** Validates the fields. */
  public EmitFailurePolicy {
    Objects.requireNonNull(mode, "mode == null");
    Objects.requireNonNull(retry, "retry == null");
  }

  /** Retry the commit with the given policy, then fail. */
  public static EmitFailurePolicy retry(RetryPolicy retry) {
    return new EmitFailurePolicy(Mode.RETRY, retry);
  }
}
