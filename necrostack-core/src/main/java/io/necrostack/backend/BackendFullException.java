package io.necrostack.backend;

/** A bounded backend has no room for the events being enqueued; none of them was added. */
public class BackendFullException extends BackendException {
  private static final long serialVersionUID = 1L;

  private final int capacity;

  /**
   * Creates the exception.
   *
   * @param capacity the backend's capacity, in events
   * @param queued how many events were queued
   * @param offered how many events the refused call offered
   */
  public BackendFullException(int capacity, int queued, int offered) {
    super(
        "backend is full: capacity "
            + capacity
            + " events, "
            + queued
            + " queued, "
            + offered
            + " offered");
    this.capacity = capacity;
  }

  /** The backend's capacity, in events. */
  public int capacity() {
    return capacity;
  }
}
