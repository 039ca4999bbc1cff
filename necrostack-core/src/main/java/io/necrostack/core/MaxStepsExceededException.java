package io.necrostack.core;

/**
 * A run processed its {@code maxSteps} events and more were waiting: likely a loop of events
 * emitting each other. Thrown by {@link Spine#run} after in-flight work is finished and
 * settled; the waiting events stay with the backend.
 */
public final class MaxStepsExceededException extends SpineException {
  private static final long serialVersionUID = 1L;

  private final long maxSteps;

  /** Creates the exception for the given bound. */
  public MaxStepsExceededException(long maxSteps) {
    super("Max steps exceeded: processed " + maxSteps + " events and more are waiting"
        + " (an event loop? raise Spine.builder().maxSteps(...) if the chain is this long)");
    this.maxSteps = maxSteps;
  }

  /** The bound that was reached. */
  public long maxSteps() {
    return maxSteps;
  }
}
