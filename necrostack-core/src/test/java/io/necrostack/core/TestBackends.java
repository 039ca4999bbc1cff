package io.necrostack.core;

import io.necrostack.backend.Backend;
import io.necrostack.backend.BackendException;
import io.necrostack.backend.BackendHealth;
import io.necrostack.backend.Delivery;
import io.necrostack.backend.Drainable;
import io.necrostack.backend.InMemoryBackend;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/** Backends for Spine tests: one that cannot tell it is drained, and ones that fail. */
final class TestBackends {
  private TestBackends() {}

  /**
   * An in-memory backend that hides its {@link Drainable} side, as a durable backend would: a
   * Spine serving it runs until stopped.
   */
  static class NonDrainable implements Backend {
    final InMemoryBackend inner;

    NonDrainable() {
      this(new InMemoryBackend());
    }

    NonDrainable(InMemoryBackend inner) {
      this.inner = inner;
    }

    @Override
    public void enqueue(Event event) {
      inner.enqueue(event);
    }

    @Override
    public void enqueueAll(List<Event> events) {
      inner.enqueueAll(events);
    }

    @Override
    public List<Delivery> pull(int maxEvents, Duration timeout) throws InterruptedException {
      return inner.pull(maxEvents, timeout);
    }

    @Override
    public void ack(Delivery delivery) {
      inner.ack(delivery);
    }

    @Override
    public void ackAll(List<Delivery> deliveries) {
      inner.ackAll(deliveries);
    }

    @Override
    public void nack(Delivery delivery, String reason) {
      inner.nack(delivery, reason);
    }

    @Override
    public void release(List<Delivery> deliveries) {
      inner.release(deliveries);
    }

    @Override
    public void commit(Delivery delivery, List<Event> emitted) {
      inner.commit(delivery, emitted);
    }

    @Override
    public BackendHealth health() {
      return inner.health();
    }

    @Override
    public void close() {
      inner.close();
    }
  }

  /** Fails its first {@code failures} pulls, then behaves; drainable, like the in-memory one. */
  static final class Flaky extends NonDrainable implements Drainable {
    private final int failures;
    final AtomicInteger pulls = new AtomicInteger();

    Flaky(int failures) {
      this.failures = failures;
    }

    @Override
    public List<Delivery> pull(int maxEvents, Duration timeout) throws InterruptedException {
      if (pulls.incrementAndGet() <= failures) {
        throw new BackendException("connection refused (pull " + pulls.get() + ")");
      }
      return super.pull(maxEvents, timeout);
    }

    @Override
    public boolean isDrained() {
      return inner.isDrained();
    }
  }

  /**
   * Records every ack, then reports the first one as failed (as when the reply is lost): the
   * Spine must count it and go on.
   */
  static final class LostAckReply extends NonDrainable implements Drainable {
    final AtomicInteger acks = new AtomicInteger();

    @Override
    public void ack(Delivery delivery) {
      super.ack(delivery);
      if (acks.incrementAndGet() == 1) {
        throw new BackendException("ack reply lost");
      }
    }

    @Override
    public boolean isDrained() {
      return inner.isDrained();
    }
  }

  /** Every pull fails. */
  static final class Down implements Backend {
    final AtomicInteger pulls = new AtomicInteger();

    @Override
    public void enqueue(Event event) {}

    @Override
    public List<Delivery> pull(int maxEvents, Duration timeout) {
      pulls.incrementAndGet();
      throw new BackendException("backend is down");
    }

    @Override
    public void ack(Delivery delivery) {
      throw new AssertionError("nothing was delivered");
    }

    @Override
    public void nack(Delivery delivery, String reason) {
      throw new AssertionError("nothing was delivered");
    }

    @Override
    public BackendHealth health() {
      return BackendHealth.down("down", Map.of());
    }

    @Override
    public void close() {}
  }
}
