package io.necrostack.property;

import java.util.Arrays;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.function.ThrowingConsumer;

/**
 * Runs a property over random values, and on failure shrinks the input and reports how to
 * run it again.
 *
 * <p>Each try draws from its own seed. The first try's seed is the {@value #SEED} system
 * property when set (so {@code -Dnecrostack.seed=N} replays a reported failure at its first
 * try), else a random one. A failure is shrunk by editing the choices that produced it (see
 * {@link Source}), and the {@link AssertionError} names the seed, the smallest failing input
 * found, the command that runs it again, and has the smallest input's failure as its cause.
 * {@value #TRIES} sets the number of tries for a longer (or shorter) hunt.
 */
public final class ForAll {
  /** The system property that fixes the first try's seed. */
  public static final String SEED = "necrostack.seed";
  /** The system property that overrides every property's number of tries. */
  public static final String TRIES = "necrostack.tries";

  /** At most this many runs of the property while shrinking one failure. */
  private static final int SHRINK_RUNS = 2_000;

  private ForAll() {}

  /**
   * Checks that {@code property} holds (returns without throwing) for {@code tries} values.
   *
   * @throws AssertionError on the first failing value, after shrinking it
   */
  public static <T> void check(int tries, Gen<T> gen, ThrowingConsumer<? super T> property) {
    String fixed = System.getProperty(SEED);
    long first = fixed == null || fixed.isBlank()
        ? ThreadLocalRandom.current().nextLong() : Long.parseLong(fixed.trim());
    String override = System.getProperty(TRIES);
    int n = override == null || override.isBlank() ? tries : Integer.parseInt(override.trim());
    for (int i = 0; i < n; i++) {
      long seed = i == 0 ? first : mix(first + i * 0x9E3779B97F4A7C15L);
      Source source = Source.random(seed);
      T value = gen.generate(source);
      Throwable failure = run(property, value);
      if (failure != null) {
        throw report(i, n, seed, gen, property, source.recorded(), value, failure);
      }
    }
  }

  private static <T> AssertionError report(
      int attempt, int tries, long seed, Gen<T> gen, ThrowingConsumer<? super T> property,
      long[] choices, T value, Throwable failure) {
    Shrunk<T> smallest = shrink(gen, property, new Shrunk<>(choices, value, failure, 0));
    StackWalker.StackFrame test = StackWalker.getInstance()
        .walk(frames -> frames.filter(f -> !f.getClassName().equals(ForAll.class.getName()))
            .findFirst().orElseThrow());
    String simpleName = test.getClassName().substring(test.getClassName().lastIndexOf('.') + 1);
    String message = "Property failed at try " + (attempt + 1) + " of " + tries
        + " (seed " + seed + ").\n"
        + "Smallest failing input (" + smallest.steps + " shrink steps):\n  " + show(smallest.value)
        + "\nOriginal failing input:\n  " + show(value)
        + "\nFailure: " + smallest.failure
        + "\nRun it again: ./mvnw -pl necrostack-core verify -Dtest=" + simpleName + "#"
        + test.getMethodName() + " -D" + SEED + "=" + seed;
    return new AssertionError(message, smallest.failure);
  }

  /**
   * Greedy shrinking over the choice sequence: drop runs of choices, then lower single
   * choices, keeping any edit whose replay still fails and is simpler (shorter, or the same
   * length and smaller choice by choice), until no edit helps or the budget is spent.
   */
  private static <T> Shrunk<T> shrink(
      Gen<T> gen, ThrowingConsumer<? super T> property, Shrunk<T> start) {
    Shrunk<T> best = start;
    int runs = 0;
    boolean improved = true;
    while (improved && runs < SHRINK_RUNS) {
      improved = false;
      for (int k = 8; k >= 1 && runs < SHRINK_RUNS; k /= 2) {
        for (int i = 0; i + k <= best.choices.length && runs < SHRINK_RUNS; ) {
          long[] c = new long[best.choices.length - k];
          System.arraycopy(best.choices, 0, c, 0, i);
          System.arraycopy(best.choices, i + k, c, i, c.length - i);
          runs++;
          Shrunk<T> next = attempt(gen, property, c, best);
          if (next != null) {
            best = next;
            improved = true;
          } else {
            i++;
          }
        }
      }
      for (int i = 0; i < best.choices.length && runs < SHRINK_RUNS; i++) {
        // Binary search for the lowest value of choice i that still fails.
        long lo = 0;
        long hi = best.choices[i];
        while (lo < hi && runs < SHRINK_RUNS) {
          long mid = lo + (hi - lo) / 2;
          long[] c = best.choices.clone();
          c[i] = mid;
          runs++;
          Shrunk<T> next = attempt(gen, property, c, best);
          if (next == null) {
            lo = mid + 1;
            continue;
          }
          best = next;
          improved = true;
          if (i >= best.choices.length) {
            break;
          }
          hi = best.choices[i];
        }
      }
    }
    return best;
  }

  private static <T> Shrunk<T> attempt(
      Gen<T> gen, ThrowingConsumer<? super T> property, long[] choices, Shrunk<T> best) {
    Source replay = Source.replay(choices);
    T value;
    try {
      value = gen.generate(replay);
    } catch (Gen.Unsatisfiable e) {
      return null;
    }
    long[] used = replay.recorded();
    if (!simpler(used, best.choices)) {
      return null;
    }
    Throwable failure = run(property, value);
    return failure == null ? null : new Shrunk<>(used, value, failure, best.steps + 1);
  }

  /** A value's text with every char outside printable ASCII escaped, so none hides. */
  private static String show(Object value) {
    String text = String.valueOf(value);
    StringBuilder b = new StringBuilder(text.length());
    for (char c : text.toCharArray()) {
      if (c == '\\') {
        b.append("\\\\");
      } else if (c >= ' ' && c <= '~') {
        b.append(c);
      } else {
        b.append(String.format("\\u%04x", (int) c));
      }
    }
    return b.length() > 4_000 ? b.substring(0, 4_000) + "... (" + b.length() + " chars)" : b.toString();
  }

  private static boolean simpler(long[] a, long[] b) {
    if (a.length != b.length) {
      return a.length < b.length;
    }
    return Arrays.compare(a, b) < 0;
  }

  private static <T> Throwable run(ThrowingConsumer<? super T> property, T value) {
    try {
      property.accept(value);
      return null;
    } catch (Throwable t) {
      if (t instanceof VirtualMachineError vm) {
        throw vm;
      }
      return t;
    }
  }

  private static long mix(long z) {
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }

  private record Shrunk<T>(long[] choices, T value, Throwable failure, int steps) {}
}
