package io.necrostack.bench;

import io.necrostack.backend.InMemoryBackend;
import io.necrostack.core.Emission;
import io.necrostack.core.Event;
import io.necrostack.core.HandlerPolicy;
import io.necrostack.core.Organ;
import io.necrostack.core.Spine;
import io.necrostack.core.SpineStats;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/**
 * Workloads 1 and 2: an in-memory chain and an in-memory fan-out, each with a baseline that
 * does the same event creation and handler calls through an {@link ArrayDeque} and a direct
 * method call, so the difference is what the Spine and the backend cost.
 */
public final class InMemoryWorkloads {
  /** The chain's event type. */
  static final String TICK = "TICK";

  /** The fan-out's start and item types. */
  static final String START = "START";

  static final String ITEM = "ITEM";

  private InMemoryWorkloads() {}

  /**
   * The chain's handler, shared by the Spine and the baseline: each event carries its index
   * and emits the next until {@code events} have been handled.
   */
  static Organ.Handler chainHandler(int events) {
    return e -> {
      int n = (Integer) e.payload().get("n");
      return n + 1 < events ? Event.of(TICK, Map.of("n", n + 1)) : Emission.none();
    };
  }

  /**
   * Workload 1 through the framework: one organ, concurrency 1, the in-memory backend.
   *
   * @param timeout the handler timeout; the default 30 s registers every handling with the
   *     watchdog, {@link Duration#ZERO} does not
   */
  public static Trial chain(int events, Duration timeout) {
    return () -> {
      Spine spine = Spine.builder()
          .organs(Organ.builder("chain").listensTo(TICK).handle(chainHandler(events)))
          .backend(new InMemoryBackend())
          .maxSteps(events)
          .maxDepth(events) // a chain of a million is deliberate here, not a loop
          .handlerPolicy(HandlerPolicy.DEFAULT.withTimeout(timeout))
          .build();
      Event start = Event.of(TICK, Map.of("n", 0));
      SpineStats[] stats = new SpineStats[1];
      Trial.Sample sample = Harness.time(events, () -> stats[0] = spine.run(start));
      check(stats[0].processed(), events, "chain");
      return sample;
    };
  }

  /** Workload 1's baseline: the same handler and event creation, an ArrayDeque, no framework. */
  public static Trial chainBaseline(int events) {
    return () -> {
      Organ.Handler handler = chainHandler(events);
      Event start = Event.of(TICK, Map.of("n", 0));
      long[] handled = new long[1];
      Trial.Sample sample = Harness.time(events, () -> handled[0] = drain(start, handler));
      check(handled[0], events, "chain baseline");
      return sample;
    };
  }

  /** Runs the raw loop: poll, call the handler directly, append what it emits. */
  static long drain(Event start, Organ.Handler handler) throws Exception {
    ArrayDeque<Event> queue = new ArrayDeque<>();
    queue.add(start);
    long handled = 0;
    Event e;
    while ((e = queue.poll()) != null) {
      Emission emission = handler.handle(e);
      handled++;
      if (emission instanceof Event next) {
        queue.add(next);
      } else if (emission instanceof Emission.Events many) {
        queue.addAll(many.list());
      }
    }
    return handled;
  }

  /** The fan-out's first organ: one start event emits {@code width} items. */
  static Organ.Handler fanHandler(int width) {
    return e -> {
      List<Event> items = new ArrayList<>(width);
      for (int i = 0; i < width; i++) {
        items.add(Event.of(ITEM, Map.of("i", i)));
      }
      return Emission.of(items);
    };
  }

  /** The fan-out's second organ: counts the items (thread-safe, for concurrency above 1). */
  static Organ.Handler sinkHandler(LongAdder seen) {
    return e -> {
      seen.add((Integer) e.payload().get("i"));
      return Emission.none();
    };
  }

  /**
   * Workload 2 through the framework: {@code runs} runs of one Spine, each one start event
   * fanning out to {@code width} items handled by a second organ.
   *
   * @param timeout the handler timeout, as for {@link #chain}
   */
  public static Trial fanOut(int width, int runs, int concurrency, Duration timeout) {
    return () -> {
      LongAdder seen = new LongAdder();
      Spine spine = Spine.builder()
          .organs(Organ.builder("fan").listensTo(START).handle(fanHandler(width)),
              Organ.builder("sink").listensTo(ITEM).handle(sinkHandler(seen)))
          .backend(new InMemoryBackend())
          // Default maxSteps (10,000): a run ends because the backend drains, as in real use.
          .concurrency(concurrency)
          .handlerPolicy(HandlerPolicy.DEFAULT.withTimeout(timeout))
          .build();
      SpineStats[] stats = new SpineStats[1];
      long expected = (width + 1L) * runs;
      Trial.Sample sample = Harness.time(expected, () -> {
        for (int r = 0; r < runs; r++) {
          stats[0] = spine.run(Event.of(START));
        }
      });
      check(stats[0].processed(), expected, "fan-out"); // counters add up over the runs
      // Above concurrency 1 the handling runs on worker threads: the caller's CPU means little.
      return concurrency == 1 ? sample : new Trial.Sample(expected, sample.nanos());
    };
  }

  /** Workload 2's baseline: the same two handlers called directly through an ArrayDeque. */
  public static Trial fanOutBaseline(int width, int runs) {
    return () -> {
      LongAdder seen = new LongAdder();
      Organ.Handler fan = fanHandler(width);
      Organ.Handler sink = sinkHandler(seen);
      Organ.Handler route = e -> e.eventType().equals(START) ? fan.handle(e) : sink.handle(e);
      long[] handled = new long[1];
      Trial.Sample sample = Harness.time((width + 1L) * runs, () -> {
        for (int r = 0; r < runs; r++) {
          handled[0] += drain(Event.of(START), route);
        }
      });
      check(handled[0], (width + 1L) * runs, "fan-out baseline");
      return sample;
    };
  }

  /** A benchmark that silently did less work than it claims would be worse than none. */
  static void check(long actual, long expected, String what) {
    if (actual != expected) {
      throw new IllegalStateException(what + " handled " + actual + " events, expected "
          + expected);
    }
  }
}
