package io.necrostack.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.necrostack.backend.BackendException;
import io.necrostack.backend.BufferedSettles;
import io.necrostack.backend.Delivery;
import io.necrostack.backend.Drainable;
import io.necrostack.backend.InMemoryBackend;
import java.time.Duration;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Emit-failure policies and batched settles agree: a settle the backend refuses after the
 * commit returned reaches the policy of the event it belonged to, and no other's.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SpineRefusedSettlesTest {
  private static final RetryPolicy FAST =
      RetryPolicy.exponentialBackoff(5, Duration.ofMillis(5), Duration.ofMillis(20));
  private static final int REFUSED = 2; // the input whose settle is refused

  /**
   * Buffers acks and commits and sends them at the next pull, as the Redis backend does; the
   * settles of input {@link #REFUSED} are refused the given number of times.
   */
  static final class Deferring extends TestBackends.NonDrainable
      implements Drainable, BufferedSettles {
    private final List<Object[]> buffer = new ArrayList<>();
    private final List<RefusedSettle> refused = new ArrayList<>();
    private final Map<Delivery, Integer> refusals = new IdentityHashMap<>();
    private int refusalsLeft;
    final AtomicInteger refusedCount = new AtomicInteger();

    Deferring(int refusals) {
      super(new InMemoryBackend());
      this.refusalsLeft = refusals;
    }

    @Override
    public synchronized void commit(Delivery delivery, List<Event> emitted) {
      buffer.add(new Object[] {delivery, List.copyOf(emitted)});
    }

    @Override
    public void ack(Delivery delivery) {
      commit(delivery, List.of());
    }

    @SuppressWarnings("unchecked")
    synchronized void send() {
      for (Object[] settle : buffer) {
        Delivery d = (Delivery) settle[0];
        List<Event> emitted = (List<Event>) settle[1];
        if (input(d.event()) == REFUSED && refusalsLeft > 0) {
          refusalsLeft--;
          refusedCount.incrementAndGet();
          refused.add(new RefusedSettle(d, emitted, new BackendException("OOM refused"),
              refusals.merge(d, 1, Integer::sum)));
        } else {
          inner.commit(d, emitted);
        }
      }
      buffer.clear();
    }

    @Override
    public List<Delivery> pull(int maxEvents, Duration timeout) throws InterruptedException {
      send();
      return super.pull(maxEvents, timeout);
    }

    @Override
    public synchronized List<RefusedSettle> takeRefusedSettles() {
      List<RefusedSettle> taken = List.copyOf(refused);
      refused.clear();
      return taken;
    }

    @Override
    public synchronized boolean isDrained() {
      return buffer.isEmpty() && refused.isEmpty() && inner.isDrained();
    }
  }

  private static int input(Event e) {
    Object i = e.payload().get("i");
    return i == null ? -1 : ((Number) i).intValue();
  }

  private static Event[] inputs() {
    Event[] in = new Event[5];
    for (int i = 0; i < in.length; i++) {
      in[i] = Event.of("IN", Map.of("i", i));
    }
    return in;
  }

  private final ConcurrentLinkedQueue<Integer> outputs = new ConcurrentLinkedQueue<>();

  private Spine spine(Deferring backend, int concurrency, EmitFailurePolicy policy) {
    Organ work = Organ.on("IN", e -> Event.of("OUT", Map.of("i", input(e))));
    Organ sink = Organ.on("OUT", e -> {
      outputs.add(input(e));
      return null;
    });
    return Spine.builder().organs(work, sink).backend(backend).concurrency(concurrency)
        .emitFailurePolicy(policy).pollTimeout(Duration.ofMillis(20)).build();
  }

  @ParameterizedTest(name = "concurrency {0}")
  @ValueSource(ints = {1, 4})
  void retryCommitsTheRefusedEventAgainAndWritesItsOutputsOnce(int concurrency) {
    Deferring backend = new Deferring(2);
    Spine spine = spine(backend, concurrency, EmitFailurePolicy.retry(FAST));

    SpineStats stats = spine.run(inputs());
    spine.close();

    assertThat(backend.refusedCount).hasValue(2);
    assertThat(outputs).containsExactlyInAnyOrder(0, 1, 2, 3, 4);
    assertThat(stats.retried()).isEqualTo(2);
    assertThat(stats.enqueueFailures()).containsExactly(Map.entry("OUT", 2L));
    assertThat(stats.emitted()).as("each output counted once").isEqualTo(5);
    assertThat(stats.processed()).isEqualTo(10);
    assertThat(backend.isDrained()).isTrue();
  }

  @ParameterizedTest(name = "concurrency {0}")
  @ValueSource(ints = {1, 4})
  void deadLetterStoresTheRefusedEventsOfThatEventOnlyAndAcknowledgesIt(int concurrency) {
    Deferring backend = new Deferring(1);
    Spine spine = spine(backend, concurrency, EmitFailurePolicy.DEAD_LETTER);

    SpineStats stats = spine.run(inputs());
    spine.close();

    assertThat(outputs).containsExactlyInAnyOrder(0, 1, 3, 4);
    assertThat(spine.deadLetters().list()).singleElement().satisfies(letter -> {
      assertThat(letter.reason()).isEqualTo("enqueue refused");
      assertThat(letter.event().eventType()).isEqualTo("OUT");
      assertThat(input(letter.event())).isEqualTo(REFUSED);
    });
    assertThat(stats.deadLettered()).isEqualTo(1);
    assertThat(stats.emitted()).isEqualTo(4);
    assertThat(stats.processed()).isEqualTo(9);
    assertThat(backend.isDrained()).as("the refused input was acknowledged").isTrue();
  }

  @ParameterizedTest(name = "concurrency {0}")
  @ValueSource(ints = {1, 4})
  void failStopsTheSpineOverTheRefusedEventAndGivesItBack(int concurrency) throws Exception {
    Deferring backend = new Deferring(1);
    Spine spine = spine(backend, concurrency, EmitFailurePolicy.FAIL);
    Event[] in = inputs();

    SpineException e = catchThrowableOfType(SpineException.class, () -> spine.run(in));
    spine.close();

    assertThat(e).isNotNull();
    assertThat(e.getMessage()).contains(in[REFUSED].id().toString());
    backend.send(); // what was buffered when the run ended, as a backend's close() sends it
    assertThat(backend.inner.unsettled()).as("every input settled or given back").isZero();
    List<Integer> givenBack = new ArrayList<>();
    List<Integer> committed = new ArrayList<>(outputs);
    for (Delivery d : backend.inner.pull(100, Duration.ZERO)) {
      (d.event().eventType().equals("IN") ? givenBack : committed).add(input(d.event()));
    }
    assertThat(givenBack).as("the refused input went back").contains(REFUSED);
    assertThat(committed).as("and nothing of it was written").doesNotContain(REFUSED);
    // The stop gives back, unhandled, what had not started yet: every input once, either way.
    assertThat(givenBack).doesNotContainAnyElementsOf(committed);
    assertThat(givenBack.size() + committed.size()).isEqualTo(in.length);
  }
}
