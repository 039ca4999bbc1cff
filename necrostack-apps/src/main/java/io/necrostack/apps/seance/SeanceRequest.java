package io.necrostack.apps.seance;

import java.util.Objects;
import java.util.OptionalLong;

/**
 * What the user asks of a séance.
 *
 * @param spirit the spirit to summon, or null to let the circle choose one
 * @param ritual the ritual performed, never blank
 * @param question the question asked, never blank
 * @param seed the seed of every random choice; empty for a different séance each time
 */
public record SeanceRequest(String spirit, String ritual, String question, OptionalLong seed) {
  /** The ritual used when none is given. */
  public static final String DEFAULT_RITUAL = "candle circle";

  /** The question asked when none is given. */
  public static final String DEFAULT_QUESTION = "What does the future hold?";

  /** Fills defaults for null or blank values and strips the others. */
  public SeanceRequest {
    spirit = spirit == null || spirit.isBlank() ? null : spirit.strip();
    ritual = ritual == null || ritual.isBlank() ? DEFAULT_RITUAL : ritual.strip();
    question = question == null || question.isBlank() ? DEFAULT_QUESTION : question.strip();
    seed = Objects.requireNonNullElse(seed, OptionalLong.empty());
  }

  /** A request with every default and no seed. */
  public static SeanceRequest defaults() {
    return new SeanceRequest(null, null, null, OptionalLong.empty());
  }
}
