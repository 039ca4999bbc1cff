package io.necrostack.apps.seance;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The payloads of the Séance's events, declared for documentation (the organs still build
 * their payloads as maps: each stage adds its fields to what it was given). The AsyncAPI
 * export ({@code necrostack graph seance --format asyncapi}) turns them into schemas, and a
 * test checks that a real séance's events match them.
 */
final class SeancePayloads {
  private SeancePayloads() {}

  /** The Séance organs' payload declarations, by event type. */
  static final Map<String, Class<?>> ALL = Map.of(
      SeanceEvents.SUMMON_RITUAL, SummonRitual.class,
      SeanceEvents.SPIRIT_APPEARED, SpiritAppeared.class,
      SeanceEvents.ANSWER_GENERATED, AnswerGenerated.class,
      SeanceEvents.OMEN_REVEALED, OmenRevealed.class);

  /** The declarations of the given types, for one organ. */
  static Map<String, Class<?>> of(String... types) {
    Map<String, Class<?>> declared = new LinkedHashMap<>();
    for (String type : types) {
      declared.put(type, ALL.get(type));
    }
    return Map.copyOf(declared);
  }

  /**
   * @param spirit the spirit asked for; absent to let the circle choose
   * @param seed the seed of every random choice
   */
  record SummonRitual(Optional<String> spirit, String ritual, String question, long seed) {}

  /** The summons and the spirit that answered it. */
  record SpiritAppeared(String spirit, String ritual, String question, long seed,
      String opening, String manifestation, String mood, String voice) {}

  /** All of the above and the spirit's answer. */
  record AnswerGenerated(String spirit, String ritual, String question, long seed,
      String opening, String manifestation, String mood, String voice, String answer) {}

  /**
   * All of the above and the omen.
   *
   * @param certainty percent, 1 to 99
   * @param lucky_number 1 to 99
   */
  record OmenRevealed(String spirit, String ritual, String question, long seed,
      String opening, String manifestation, String mood, String voice, String answer,
      String omen, int certainty, int lucky_number) {}
}
