package io.necrostack.property;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * A generator of random values for property tests, built from a {@link Source}'s choices.
 *
 * <p>Choice 0 is the simplest outcome everywhere here, so replaying a sequence of zeros gives
 * the simplest value: shrinking lowers choices and the value gets simpler.
 */
@FunctionalInterface
public interface Gen<T> {

  /** Makes one value from the source's choices. */
  T generate(Source source);

  /** This generator's values, transformed. */
  default <R> Gen<R> map(Function<? super T, ? extends R> f) {
    return s -> f.apply(generate(s));
  }

  /**
   * Only the values that pass the test; a generator that rejects 100 values in a row fails
   * (the filter is too strict for the generator).
   */
  default Gen<T> filter(Predicate<? super T> keep) {
    return s -> {
      for (int i = 0; i < 100; i++) {
        T value = generate(s);
        if (keep.test(value)) {
          return value;
        }
      }
      throw new Unsatisfiable("filter rejected 100 values in a row");
    };
  }

  /** This generator's values, or null once in {@code n} (null is not the simplest choice). */
  default Gen<T> orNullOneIn(int n) {
    return s -> s.oneIn(n) ? null : generate(s);
  }

  /** Lists of 0 to {@code max} values (0 is the simplest). */
  default Gen<List<T>> list(int max) {
    return s -> {
      int n = s.below(max + 1);
      List<T> items = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        items.add(generate(s));
      }
      return items;
    };
  }

  /** Always {@code value}. */
  static <T> Gen<T> constant(T value) {
    return s -> value;
  }

  /** A generator made when first asked for a value: for recursive generators. */
  static <T> Gen<T> lazy(Supplier<Gen<T>> gen) {
    return s -> gen.get().generate(s);
  }

  /** One of the values, the first being the simplest. */
  @SafeVarargs
  static <T> Gen<T> of(T... values) {
    List<T> list = Arrays.asList(values);
    return s -> list.get(s.below(list.size()));
  }

  /** One of the generators, each equally likely; the first is the simplest. */
  @SafeVarargs
  static <T> Gen<T> oneOf(Gen<? extends T>... gens) {
    return s -> gens[s.below(gens.length)].generate(s);
  }

  /** Weighted alternatives, as pairs of weight and generator; the first is the simplest. */
  static <T> Gen<T> frequency(Object... weightsAndGens) {
    int total = 0;
    for (int i = 0; i < weightsAndGens.length; i += 2) {
      total += (Integer) weightsAndGens[i];
    }
    int sum = total;
    return s -> {
      int pick = s.below(sum);
      for (int i = 0; ; i += 2) {
        pick -= (Integer) weightsAndGens[i];
        if (pick < 0) {
          @SuppressWarnings("unchecked")
          Gen<T> gen = (Gen<T>) weightsAndGens[i + 1];
          return gen.generate(s);
        }
      }
    };
  }

  /** Booleans, false the simplest. */
  static Gen<Boolean> booleans() {
    return s -> s.draw(2) == 1;
  }

  /** Ints in [min, max], shrinking toward the one nearest 0. */
  static Gen<Integer> ints(int min, int max) {
    return longs(min, max).map(Long::intValue);
  }

  /**
   * Longs in [min, max], shrinking toward the one nearest 0; the bounds and 0 come up about
   * once in eight draws, as edge cases.
   */
  static Gen<Long> longs(long min, long max) {
    if (min > max) {
      throw new IllegalArgumentException("min " + min + " > max " + max);
    }
    long origin = min > 0 ? min : max < 0 ? max : 0;
    return s -> {
      int kind = s.below(16);
      if (kind == 1) {
        return min;
      }
      if (kind == 2) {
        return max;
      }
      if (kind == 0) {
        // The simplest: the origin, or a value near it.
        return origin;
      }
      return spread(s, min, max, origin);
    };
  }

  /** Any long: the edge cases 0, ±1, MIN_VALUE and MAX_VALUE, and the whole range. */
  static Gen<Long> anyLong() {
    return longs(Long.MIN_VALUE, Long.MAX_VALUE);
  }

  /** BigIntegers in [min, max], for numbers beyond 64 bits; the bounds are edge cases. */
  static Gen<BigInteger> bigIntegers(BigInteger min, BigInteger max) {
    BigInteger span = max.subtract(min).add(BigInteger.ONE);
    int bits = span.bitLength();
    return s -> {
      int kind = s.below(8);
      if (kind == 1) {
        return max;
      }
      if (kind == 2) {
        return min;
      }
      // Draw a bit length first, so small offsets are as likely as large ones.
      int length = s.below(bits + 1);
      BigInteger offset = BigInteger.ZERO;
      for (int done = 0; done < length; done += 62) {
        int chunk = Math.min(62, length - done);
        offset = offset.shiftLeft(chunk).or(BigInteger.valueOf(s.draw(1L << chunk)));
      }
      return min.add(offset.mod(span));
    };
  }

  /** Any double, including -0.0, subnormals, MAX_VALUE, and non-finite values when asked. */
  static Gen<Double> doubles(double... specials) {
    return s -> {
      int kind = s.below(10);
      if (kind == 0) {
        return 0.0;
      }
      if (kind == 1 && specials.length > 0) {
        return specials[s.below(specials.length)];
      }
      if (kind < 5) {
        // Small, readable numbers: -1000.000..1000.000 in thousandths.
        return (s.draw(2_000_001) - 1_000_000) / 1000.0;
      }
      double d = Double.longBitsToDouble(s.draw(Long.MAX_VALUE) | (s.draw(2) << 63));
      return Double.isFinite(d) ? d : 1.0;
    };
  }

  /** Strings of 0 to {@code max} chars, each from {@code chars}. */
  static Gen<String> strings(Gen<Character> chars, int max) {
    return chars.list(max).map(cs -> {
      StringBuilder b = new StringBuilder(cs.size());
      cs.forEach(b::append);
      return b.toString();
    });
  }

  /** Chars in [from, to]; {@code from} is the simplest. */
  static Gen<Character> charRange(char from, char to) {
    return s -> (char) (from + s.below(to - from + 1));
  }

  /**
   * Any char: mostly printable ASCII, often any Basic Multilingual Plane char (unpaired
   * surrogates and controls included), so both the common and the hostile cases come up.
   */
  static Gen<Character> anyChar() {
    return frequency(3, charRange(' ', '~'), 1, charRange('\u0000', '\uffff'));
  }

  /** Maps of 0 to {@code max} entries; duplicate keys collapse, as in a real map. */
  static <K, V> Gen<Map<K, V>> maps(Gen<K> keys, Gen<V> values, int max) {
    return s -> {
      int n = s.below(max + 1);
      Map<K, V> map = new LinkedHashMap<>();
      for (int i = 0; i < n; i++) {
        map.put(keys.generate(s), values.generate(s));
      }
      return map;
    };
  }

  private static long spread(Source s, long min, long max, long origin) {
    // A magnitude class first (bit length), then the bits: small values are as likely as
    // large ones, and lowering the choices brings the value toward the origin.
    boolean up = origin == min || (origin != max && s.draw(2) == 0);
    long room = up ? max - origin : origin - min; // may overflow into a negative: unsigned
    int bits = 64 - Long.numberOfLeadingZeros(room);
    int length = s.below(bits + 1);
    long offset = length >= 63 ? s.draw(Long.MAX_VALUE) : s.draw(1L << length);
    if (Long.compareUnsigned(offset, room) > 0) {
      offset = Long.remainderUnsigned(offset, room + 1);
    }
    return up ? origin + offset : origin - offset;
  }

  /** A generator that could not make a value (a filter too strict); not a property failure. */
  final class Unsatisfiable extends RuntimeException {
    private static final long serialVersionUID = 1L;

    Unsatisfiable(String message) {
      super(message);
    }
  }
}
