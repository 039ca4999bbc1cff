package io.necrostack.backend;

import io.necrostack.core.DeadLetter;
import io.necrostack.core.Event;
import io.necrostack.core.InMemoryDeadLetters;
import java.time.Duration;
import java.time.Instant;
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
import java.util.function.LongSupplier;

/**
 * The embedded default backend: a FIFO queue in this JVM's memory.
 *
 * <p>Thread-safe. Unbounded unless given a capacity, in which case an enqueue that does not
 * fit throws {@link BackendFullException} and adds nothing ({@link #enqueueAll} is
 * all-or-nothing). Nothing survives the JVM. {@link #ack} only forgets the delivery; {@link
 * #nack} puts the event back at the head of the queue with its delivery count raised, at once
 * or after a delay ({@link DelayedRedelivery}), until it has been delivered {@code
 * maxDeliveries} times (default {@value #DEFAULT_MAX_DELIVERIES}, as the Redis backend's):
 * then it is dead-lettered into this backend's own {@link #deadLetters() store} instead, so a
 * poison event cannot hold the head of the queue forever. Delayed redeliveries that are due
 * together come back in the order they are due, those due at once in nack order. It is
 * {@link Drainable}: drained when nothing is queued or scheduled and every delivery is
 * settled.
 */
public final class InMemoryBackend
    implements Backend, Drainable, DelayedRedelivery, DeadLetterStore {
  /** Capacity meaning "no bound". */
  public static final int UNBOUNDED = Integer.MAX_VALUE;

  /** Default deliveries of one event before a nack dead-letters it instead: 3, as Redis. */
  public static final int DEFAULT_MAX_DELIVERIES = 3;

  private final int capacity;
  private final int maxDeliveries;
  private final InMemoryDeadLetters deadLetters = new InMemoryDeadLetters();
  /** System.nanoTime, but for tests of delayed redelivery. */
  private final LongSupplier nanoTime;
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition notEmpty = lock.newCondition();
  private final ArrayDeque<Node> queue = new ArrayDeque<>();
  /** Nacked events waiting for their redelivery time, earliest first, then in nack order. */
  private final PriorityQueue<Node> scheduled =
      new PriorityQueue<>(Comparator.comparingLong((Node n) -> n.dueNanos)
          .thenComparingLong(n -> n.nackOrder));
  private long sequence;
  private long nacks;
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
    this(capacity, DEFAULT_MAX_DELIVERIES);
  }

  /**
   * An in-memory backend holding at most {@code capacity} queued events, whose nacks
   * dead-letter an event once it has been delivered {@code maxDeliveries} times.
   *
   * @param capacity at least 1; {@link #UNBOUNDED} for no bound
   * @param maxDeliveries at least 1
   */
  public InMemoryBackend(int capacity, int maxDeliveries) {
    this(capacity, maxDeliveries, System::nanoTime);
  }

  InMemoryBackend(int capacity, int maxDeliveries, LongSupplier nanoTime) {
    if (capacity < 1) {
      throw new IllegalArgumentException("capacity must be at least 1, got " + capacity);
    }
    if (maxDeliveries < 1) {
      throw new IllegalArgumentException(
          "maxDeliveries must be at least 1, got " + maxDeliveries);
    }
    this.capacity = capacity;
    this.maxDeliveries = maxDeliveries;
    this.nanoTime = nanoTime;
  }

  /**
   * Where this backend keeps the events its nacks gave up on (past max deliveries); also a
   * Spine's dead-letter store by default, so everything dead-lettered in this JVM is in one
   * place. Bounded ({@value InMemoryDeadLetters#DEFAULT_CAPACITY}): past it the oldest is
   * dropped, logged and counted.
   */
  @Override
  public InMemoryDeadLetters deadLetters() {
    return deadLetters;
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
          wait = Math.min(wait, Math.max(1, scheduled.peek().dueNanos - nanoTime.getAsLong()));
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
   * count raised; once it has had {@code maxDeliveries} deliveries, dead-letters it with the
   * reason instead.
   */
  @Override
  public void nack(Delivery delivery, String reason) {
    nack(delivery, reason, Duration.ZERO);
  }

  /**
   * Puts the event back at the head of the queue once the delay has passed, with its delivery
   * count raised; once it has had {@code maxDeliveries} deliveries, dead-letters it with the
   * reason instead.
   */
  @Override
  public void nack(Delivery delivery, String reason, Duration delay) {
    Node node = own(delivery);
    boolean exhausted;
    lock.lock();
    try {
      checkOpen();
      settle(node);
      nacked++;
      exhausted = node.deliveries >= maxDeliveries;
      if (!exhausted) {
        Node again = node.redelivery();
        if (delay.isZero() || delay.isNegative()) {
          queue.addFirst(again);
        } else {
          again.dueNanos = nanoTime.getAsLong() + delay.toNanos();
          again.nackOrder = ++nacks;
          scheduled.add(again);
        }
        notEmpty.signal(); // a waiting pull takes it, or shortens its wait to the due time
      }
    } finally {
      lock.unlock();
    }
    if (exhausted) {
      // Outside the lock: the store's replay enqueues here while holding its own lock.
      Instant now = Instant.now();
      deadLetters.add(new DeadLetter(node.event, "exceeded max deliveries: delivery "
          + (node.deliveries + 1) + " > " + maxDeliveries, null, "MaxDeliveriesExceeded",
          reason, node.deliveries, now, now));
    }
  }

  private void moveDue() {
    if (scheduled.isEmpty()) {
      return; // the usual case: no clock read on every pull
    }
    long now = nanoTime.getAsLong();
    if (scheduled.peek().dueNanos - now > 0) {
      return;
    }
    // Due ones go to the head in their order: the earliest due, then the earliest nacked.
    List<Node> due = new ArrayList<>();
    while (!scheduled.isEmpty() && scheduled.peek().dueNanos - now <= 0) {
      due.add(scheduled.poll());
    }
    for (int i = due.size() - 1; i >= 0; i--) {
      queue.addFirst(due.get(i));
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
    // Read before the lock: the store's replay takes its lock, then this backend's.
    long deadLetterCount = deadLetters.count();
    long deadLettersDropped = deadLetters.dropped();
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
              "nacked", nacked,
              "dead_letters", deadLetterCount,
              "dead_letters_dropped", deadLettersDropped);
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
    /** Among scheduled redeliveries due at once, the order of their nacks. */
    long nackOrder;

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
