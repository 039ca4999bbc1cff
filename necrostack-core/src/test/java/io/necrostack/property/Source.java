package io.necrostack.property;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * The choices a generator makes, drawn at random or replayed from a recorded sequence.
 *
 * <p>Every generator builds its value from {@link #draw(long)} calls alone, so a value is fully
 * described by the sequence of choices it took. That is what makes shrinking generic: the
 * shrinker edits the sequence (drops some choices, lowers others) and replays the generator,
 * with no per-type shrinking code. Generators are written so that choice 0 is the simplest
 * (the empty list, the first alternative, the smallest number), and a replay that runs past
 * its recorded choices reads 0.
 */
public final class Source {
  private final SplittableRandom random;
  private final long[] replay;
  private long[] recorded = new long[64];
  private int size;

  private Source(SplittableRandom random, long[] replay) {
    this.random = random;
    this.replay = replay;
  }

  static Source random(long seed) {
    return new Source(new SplittableRandom(seed), null);
  }

  static Source replay(long[] choices) {
    return new Source(null, choices);
  }

  /**
   * One choice: a value in [0, bound).
   *
   * @param bound exclusive, above 0
   */
  public long draw(long bound) {
    if (bound <= 0) {
      throw new IllegalArgumentException("bound must be above 0, got " + bound);
    }
    long choice;
    if (replay == null) {
      choice = random.nextLong(bound);
    } else {
      // A shrunk sequence may hold a choice made under a larger bound: clamp it.
      choice = size < replay.length ? Math.min(replay[size], bound - 1) : 0;
    }
    if (size == recorded.length) {
      recorded = Arrays.copyOf(recorded, size * 2);
    }
    recorded[size++] = choice;
    return choice;
  }

  /** One choice in [0, bound), as an int. */
  public int below(int bound) {
    return (int) draw(bound);
  }

  /** A choice that is true with probability {@code 1/n} (choice 0 is the simplest: false). */
  public boolean oneIn(int n) {
    return draw(n) == n - 1;
  }

  /** The choices drawn so far. */
  long[] recorded() {
    return Arrays.copyOf(recorded, size);
  }
}
