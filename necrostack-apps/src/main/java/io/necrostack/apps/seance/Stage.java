package io.necrostack.apps.seance;

import io.necrostack.core.Event;
import java.util.List;
import java.util.Random;

/** Helpers shared by the séance organs: reading the payload and seeded choices. */
final class Stage {
  private Stage() {}

  /**
   * A random source for one stage, derived from the séance's seed and the stage's salt.
   *
   * <p>Each stage derives its own source from the seed carried in the event instead of
   * sharing one {@link Random}: the outcome then depends only on the event, so it is the
   * same whichever process or backend handles each stage.
   */
  static Random random(Event event, long salt) {
    return new Random(seed(event) * 31 + salt);
  }

  static long seed(Event event) {
    Object seed = event.payload().get("seed");
    if (seed instanceof Number n) {
      return n.longValue();
    }
    throw new IllegalArgumentException(event.eventType() + " has no numeric seed: " + seed);
  }

  static String text(Event event, String key) {
    Object value = event.payload().get(key);
    if (value == null) {
      throw new IllegalArgumentException(event.eventType() + " has no '" + key + "'");
    }
    return value.toString();
  }

  static <T> T pick(Random random, List<T> choices) {
    return choices.get(random.nextInt(choices.size()));
  }
}
