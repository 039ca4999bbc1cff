package io.necrostack.apps.seance;

/** The event types of the Séance chain, in the order they happen. */
public final class SeanceEvents {
  /** Starts a séance: spirit, ritual, question and the seed of its randomness. */
  public static final String SUMMON_RITUAL = "SUMMON_RITUAL";

  /** A spirit answered the summons: how it manifests and its mood. */
  public static final String SPIRIT_APPEARED = "SPIRIT_APPEARED";

  /** The spirit's answer to the question. */
  public static final String ANSWER_GENERATED = "ANSWER_GENERATED";

  /** The closing omen; the scribe prints the whole séance when it sees this. */
  public static final String OMEN_REVEALED = "OMEN_REVEALED";

  private SeanceEvents() {}
}
