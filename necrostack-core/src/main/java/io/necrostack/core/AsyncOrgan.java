package io.necrostack.core;

import java.util.concurrent.CompletionStage;

/**
 * An organ whose handling completes later: it returns a {@link CompletionStage} of its emission.
 *
 * <p>The Spine waits for the stage before it settles the event, so ordering and
 * acknowledgement are as for a synchronous organ. The handler timeout, when one is set, bounds
 * the whole handling: the {@code handleAsync} call itself (interrupted past it, as a
 * synchronous handler) and the wait for the stage. When the Spine stops, a stage still running
 * after the drain timeout is given up and its event given back. A stage that completes
 * exceptionally, or a {@code handleAsync} that throws, is a failure.
 */
public interface AsyncOrgan extends Organ {

  /** Starts handling one event; the stage completes with what it emits (null counts as none). */
  CompletionStage<Emission> handleAsync(Event event);

  /**
   * Not used for async organs: the Spine calls {@link #handleAsync(Event)}. Calling it waits
   * for the stage, for code that treats every organ alike.
   */
  @Override
  default Emission handle(Event event) throws Exception {
    try {
      return handleAsync(event).toCompletableFuture().get();
    } catch (java.util.concurrent.ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof Exception ex) {
        throw ex;
      }
      throw e;
    }
  }
}
