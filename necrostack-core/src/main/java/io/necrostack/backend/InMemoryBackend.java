package io.necrostack.backend;

import io.necrostack.core.Event;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.PriorityQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The embedded default backend: a FIFO queue in this JVM's memory.
 *
 * <p>Thread-safe. Unbounded unless given a capacity, in which case an enqueue that does not
 * fit throws {@link BackendFullException} and adds nothing ({@link #enqueueAll} is
 * all-or-nothing). Nothing survives the JVM. {@link #ack} only forgets the delivery; {@link
 * #nack} puts the event back at the head of the queue with its delivery count raised, at once
 * or after a delay ({@link DelayedRedelivery}). It is {@link Drainable}: drained when nothing
 * is queued or scheduled and every delivery is settled.
 */
public final class InMemoryBackend implements Backend, Drainable, DelayedRedelivery {
  /** Capacity meaning "no bound". */
  public static final int UNBOUNDED = Integer.MAX_VALUE;

  private final int capacity;
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition notEmpty = lock.newCondition();
  private final ArrayDeque<Node> queue = new ArrayDeque<>();
  /** Nacked events waiting for their redelivery time, earliest first. */
  private final PriorityQueue<Node> scheduled =
      new PriorityQueue<>(Comparator.comparingLong((Node n) -> n.dueNanos));
  private long sequence;
  private int unsettled;
  private long enqueued;
  private long acked;
  private long nacked;
  private boolean closed;

  /** An unbounded in-memory backend. */
  public InMemoryBackend() {
    this(UNBOUNDED);
  }

  /**
   * An in-memory backend holding at most {@code capacity} queued events.
   *
   * @param capacity at least 1; {@link #UNBOUNDED} for no bound
   */
  public InMemoryBackend(int capacity) {
    if (capacity < 1) {
      throw new IllegalArgumentException("capacity must be at least 1, got " + capacity);
    }
    this.capacity = capacity;
  }

  @Override
  public void enqueue(Event event) {
    Objects.requireNonNull(event, "event == null");
    lock.lock();
    try {
      checkOpen();
      if (queue.size() >= capacity) {
        throw new BackendFullException(capacity, queue.size(), 1);
      }
      queue.addLast(new Node(this, event, ++sequence));
      enqueued++;
      notEmpty.signal();
    } finally {
      lock.unlock();
    }
  }

  @Override
  public void enqueueAll(List<Event> events) {
    for (Event event : events) {
      Objects.requireNonNull(event, "events contains null");
    }
    lock.lock();
    try {
      checkOpen();
      if ((long) queue.size() + events.size() > capacity) {
        throw new BackendFullException(capacity, queue.size(), events.size());
      }
      for (Event event : events) {
        queue.addLast(new Node(this, event, ++sequence));
      }
      enqueued += events.size();
      notEmpty.signalAll();
    } finally {
      lock.unlock();
    }
  }

  @Override
  public List<Delivery> pull(int maxEvents, Duration timeout) throws InterruptedException {
    if (maxEvents < 1) {
      throw new IllegalArgumentException("maxEvents must be at least 1, got " + maxEvents);
    }
    long nanos = toNanosSaturated(timeout);
    lock.lockInterruptibly();
    try {
      checkOpen();
      moveDue();
      while (queue.isEmpty()) {
        if (nanos <= 0 || closed) {
          return List.of();
        }
        long wait = nanos;
        if (!scheduled.isEmpty()) {
          wait = Math.min(wait, Math.max(1, scheduled.peek().dueNanos - System.nanoTime()));
        }
        long left = notEmpty.awaitNanos(wait);
        nanos -= wait - left;
        moveDue();
      }
      int n = Math.min(maxEvents, queue.size());
      if (n == 1) {
        Node node = queue.pollFirst();
        node.deliver();
        unsettled++;
        return List.of(node);
      }
      List<Delivery> batch = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        Node node = queue.pollFirst();
        node.deliver();
        batch.add(node);
      }
      unsettled += n;
      return batch;
    } finally {
      lock.unlock();
    }
  }

  @Override
  public void ack(Delivery delivery) {
    Node node = own(delivery);
    lock.lock();
    try {
      checkOpen();
      settle(node);
      acked++;
    } finally {
      lock.unlock();
    }
  }

  @Override
  public void ackAll(List<Delivery> deliveries) {
    for (Delivery delivery : deliveries) {
      own(delivery);
    }
    lock.lock();
    try {
      checkOpen();
      for (Delivery delivery : deliveries) {
        settle((Node) delivery);
      }
      acked += deliveries.size();
    } finally {
      lock.unlock();
    }
  }

  @Override
  public void commit(Delivery delivery, List<Event> emitted) {
    Node node = own(delivery);
    for (Event event : emitted) {
      Objects.requireNonNull(event, "emitted contains null");
    }
    lock.lock();
    try {
      // One lock hold: the emitted events and the acknowledgement happen together.
      checkOpen();
      if ((long) queue.size() + emitted.size() > capacity) {
        throw new BackendFullException(capacity, queue.size(), emitted.size());
      }
      if (node.settled) {
        throw new IllegalStateException("delivery " + node.deliveryId() + " already settled");
      }
      for (Event event : emitted) {
        queue.addLast(new Node(this, event, ++sequence));
      }
      enqueued += emitted.size();
      settle(node);
      acked++;
      if (!emitted.isEmpty()) {
        notEmpty.signalAll();
      }
    } finally {
      lock.unlock();
    }
  }

  /**
   * Puts the event back at the head of the queue, to be delivered next with its delivery
   * count raised. The reason is not kept.
   */
  @Override
  public void nack(Delivery delivery, String reason) {
    Node node = own(delivery);
    lock.lock();
    try {
      checkOpen();
      settle(node);
      nacked++;
      queue.addFirst(node.redelivery());
      notEmpty.signal();
    } finally {
      lock.unlock();
    }
  }

  /**
   * Puts the event back at the head of the queue once the delay has passed, with its delivery
   * count raised. The reason is not kept.
   */
  @Override
  public void nack(Delivery delivery, String reason, Duration delay) {
    if (delay.isZero() || delay.isNegative()) {
      nack(delivery, reason);
      return;
    }
    Node node = own(delivery);
    lock.lock();
    try {
      checkOpen();
      settle(node);
      nacked++;
      Node again = node.redelivery();
      again.dueNanos = System.nanoTime() + delay.toNanos();
      scheduled.add(again);
      notEmpty.signal(); // a waiting pull shortens its wait to the due time
    } finally {
      lock.unlock();
    }
  }

  private void moveDue() {
    if (scheduled.isEmpty()) {
      return; // the usual case: no clock read on every pull
    }
    long now = System.nanoTime();
    while (!scheduled.isEmpty() && scheduled.peek().dueNanos - now <= 0) {
      queue.addFirst(scheduled.poll());
    }
  }

  /** Puts the deliveries back at the head of the queue in their order, uncounted. */
  @Override
  public void release(List<Delivery> deliveries) {
    for (Delivery delivery : deliveries) {
      own(delivery);
    }
    lock.lock();
    try {
      checkOpen();
      for (int i = deliveries.size() - 1; i >= 0; i--) {
        Node node = (Node) deliveries.get(i);
        settle(node);
        Node again = node.redelivery();
        again.deliveries--;
        queue.addFirst(again);
      }
      if (!deliveries.isEmpty()) {
        notEmpty.signalAll();
      }
    } finally {
      lock.unlock();
    }
  }

  @Override
  public boolean isDrained() {
    lock.lock();
    try {
      return queue.isEmpty() && unsettled == 0 && scheduled.isEmpty();
    } finally {
      lock.unlock();
    }
  }

  /** How many events are queued, not counting delivered ones. */
  public int size() {
    lock.lock();
    try {
      return queue.size();
    } finally {
      lock.unlock();
    }
  }

  /** How many deliveries are out, neither acked nor nacked. */
  public int unsettled() {
    lock.lock();
    try {
      return unsettled;
    } finally {
      lock.unlock();
    }
  }

  @Override
  public BackendHealth health() {
    lock.lock();
    try {
      Map<String, Object> details =
          Map.of(
              "queued", queue.size(),
              "scheduled", scheduled.size(),
              "unsettled", unsettled,
              "capacity", capacity == UNBOUNDED ? "unbounded" : capacity,
              "enqueued", enqueued,
              "acked", acked,
              "nacked", nacked);
      String description = "in-memory: " + queue.size() + " queued, " + unsettled + " unsettled";
      return closed
          ? BackendHealth.down("in-memory: closed", details)
          : BackendHealth.up(description, details);
    } finally {
      lock.unlock();
    }
  }

  @Override
  public void close() {
    lock.lock();
    try {
      closed = true;
      notEmpty.signalAll();
    } finally {
      lock.unlock();
    }
  }

  @Override
  public String toString() {
    return "InMemoryBackend[capacity=" + (capacity == UNBOUNDED ? "unbounded" : capacity) + "]";
  }

  /** Duration.toNanos() overflows past ~292 years (ChronoUnit.FOREVER): wait "forever". */
  private static long toNanosSaturated(Duration timeout) {
    try {
      return timeout.toNanos();
    } catch (ArithmeticException e) {
      return timeout.isNegative() ? 0 : Long.MAX_VALUE;
    }
  }

  private void checkOpen() {
    if (closed) {
      throw new IllegalStateException("backend is closed");
    }
  }

  private void settle(Node node) {
    if (node.settled) {
      throw new IllegalStateException("delivery " + node.deliveryId() + " already settled");
    }
    node.settled = true;
    unsettled--;
  }

  private Node own(Delivery delivery) {
    if (delivery instanceof Node node && node.owner == this) {
      return node;
    }
    throw new IllegalArgumentException("not a delivery of this backend: " + delivery);
  }

  /** A queued event and, once pulled, its delivery. */
  private static final class Node implements Delivery {
    final InMemoryBackend owner;
    final Event event;
    final long seq;
    int deliveries;
    boolean settled;
    long dueNanos;

    Node(InMemoryBackend owner, Event event, long seq) {
      this.owner = owner;
      this.event = event;
      this.seq = seq;
    }

    void deliver() {
      deliveries++;
    }

    Node redelivery() {
      Node again = new Node(owner, event, seq);
      again.deliveries = deliveries;
      return again;
    }

    @Override
    public Event event() {
      return event;
    }

    @Override
    public int deliveryCount() {
      return deliveries;
    }

    @Override
    public String deliveryId() {
      return Long.toString(seq);
    }

    @Override
    public String toString() {
      return "Delivery[" + seq + ", " + event.eventType() + ", delivery " + deliveries + "]";
    }
  }
}
