package io.necrostack.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.necrostack.backend.InMemoryBackend;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/** Ordering keys hold under concurrency: per key, events are handled one at a time, in order. */
class OrderingKeyProperties {

  @Property(tries = 8)
  void eventsSharingAKeyAreHandledInArrivalOrderUnderConcurrency(
      @ForAll @IntRange(min = 1, max = 6) int keys,
      @ForAll @IntRange(min = 20, max = 120) int events,
      @ForAll @IntRange(min = 0, max = 300) int maxDelayMicros) {
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
      long delay = (long) (Math.random() * maxDelayMicros * 1000);
      LockSupport.parkNanos(delay); // simulated work of random length
      seen.computeIfAbsent(key, k -> java.util.Collections.synchronizedList(new ArrayList<>()))
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

    SpineStats stats = spine.run(batch);

    assertThat(stats.processed()).isEqualTo(events);
    assertThat(overlaps).as("two events of one key at once").hasValue(0);
    seen.forEach((key, order) -> assertThat(order).as(key).isSorted());
    assertThat(seen.values().stream().mapToInt(List::size).sum()).isEqualTo(events);
  }
}
