package io.necrostack.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.necrostack.backend.InMemoryBackend;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import io.necrostack.property.ForAll;
import io.necrostack.property.Gen;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Ordering keys hold under concurrency: per key, events are handled one at a time, in order. */
class OrderingKeyProperties {

  /** One run: how many keys, how many events, the longest simulated work, its seed. */
  private record Load(int keys, int events, int maxDelayMicros, long delaySeed) {}

  @Test
  void eventsSharingAKeyAreHandledInArrivalOrderUnderConcurrency() {
    Gen<Load> loads = s -> new Load(Gen.ints(1, 6).generate(s), Gen.ints(20, 120).generate(s),
        Gen.ints(0, 300).generate(s), Gen.anyLong().generate(s));
    ForAll.check(8, loads, OrderingKeyProperties::check);
  }

  private static void check(Load load) {
    int keys = load.keys();
    int events = load.events();
    int maxDelayMicros = load.maxDelayMicros();
    SplittableRandom delays = new SplittableRandom(load.delaySeed());
    InMemoryBackend backend = new InMemoryBackend();
    Map<String, List<Integer>> seen = new ConcurrentHashMap<>();
    Map<String, AtomicInteger> busy = new ConcurrentHashMap<>();
    AtomicInteger overlaps = new AtomicInteger();
    Organ work = Organ.on("K", e -> {
      String key = e.metadata().get(Spine.ORDERING_KEY);
      AtomicInteger running = busy.computeIfAbsent(key, k -> new AtomicInteger());
      if (running.incrementAndGet() > 1) {
        overlaps.incrementAndGet();
      }
      long delay;
      synchronized (delays) {
        delay = maxDelayMicros == 0 ? 0 : delays.nextLong(maxDelayMicros * 1000L);
      }
      LockSupport.parkNanos(delay); // simulated work of random length
      seen.computeIfAbsent(key, k -> Collections.synchronizedList(new ArrayList<>()))
          .add(((Number) e.payload().get("seq")).intValue());
      running.decrementAndGet();
      return null;
    });
    Spine spine = Spine.builder().organs(work).backend(backend).concurrency(8)
        .orderingKey(Spine::metadataOrderingKey).build();
    Event[] batch = new Event[events];
    for (int i = 0; i < events; i++) {
      batch[i] = Event.of("K", Map.of("seq", i))
          .withMetadata(Spine.ORDERING_KEY, "key-" + (i % keys));
    }

    try (spine) {
      SpineStats stats = spine.run(batch);

      assertThat(stats.processed()).isEqualTo(events);
      assertThat(overlaps).as("two events of one key at once").hasValue(0);
      seen.forEach((key, order) -> assertThat(order).as(key).isSorted());
      assertThat(seen.values().stream().mapToInt(List::size).sum()).isEqualTo(events);
    }
  }
}
