package io.necrostack.apps.seance;

import java.util.List;
import java.util.Locale;
import java.util.Map;

/** The words of the séance: spirits, manifestations, moods, answers and omens. */
final class Lore {
  private Lore() {}

  static final List<String> SPIRITS =
      List.of(
          "Madame Zelda",
          "Sir Reginald the Restless",
          "The Grey Lady of Platform Nine",
          "Old Man Haskell",
          "Edgar, the Poet Who Never Finished",
          "Bartholomew the Bookkeeper",
          "Little Agnes and her Music Box");

  static final List<String> MANIFESTATIONS =
      List.of(
          "as a flicker of violet light in the mirror",
          "as a cold breath on the back of your neck",
          "as three slow knocks from inside the wardrobe",
          "as a shape in the candle smoke, wearing a very old hat",
          "as the scent of lavender and burnt toast",
          "as a whisper that seems to come from the floorboards",
          "as frost blooming across the window in the shape of a hand");

  /** A mood and the verb the spirit speaks with in that mood. */
  record Mood(String name, String voice) {}

  static final List<Mood> MOODS =
      List.of(
          new Mood("mischievous", "cackles"),
          new Mood("melancholy", "sighs"),
          new Mood("solemn", "intones"),
          new Mood("cheerful", "chirps"),
          new Mood("cryptic", "murmurs"),
          new Mood("impatient", "snaps"));

  static final List<String> ANSWERS =
      List.of(
          "The answer lies in the logs you have not yet read.",
          "Yes, but only after the third retry.",
          "No. And stop asking the dead about deadlines.",
          "What was lost will be found in the last place you look, obviously.",
          "The stars are aligned, yet someone forgot to commit.",
          "Ask again when the moon is full and the build is green.",
          "It is certain, as certain as anything is to a ghost.",
          "Beware the Friday deploy.",
          "The path is clear, though it loops back on itself once.",
          "Patience. Even events wait their turn in the queue.",
          "I see a great refactoring in your future.",
          "Outlook murky; the fog in here is terrible.");

  static final List<String> OMENS =
      List.of(
          "a raven taps three times on the window: an old debt will be repaid",
          "the candle flame leans to the left: a stranger brings good news",
          "a cold wind snuffs the wick: let sleeping processes lie",
          "the wax pools in the shape of a key: a locked door opens soon",
          "a moth circles the flame twice: a decision returns to you",
          "the mirror fogs over: what you seek is closer than it looks",
          "the clock stops at midnight: begin again, and this time write tests",
          "salt scatters in a perfect circle: you are protected, for now",
          "a bell rings in an empty room: someone is thinking of you",
          "the smoke spells a word you cannot read: a mystery worth keeping");

  /** The opening line of a ritual; known rituals have their own, others a general one. */
  static String opening(String ritual) {
    String known = OPENINGS.get(ritual.toLowerCase(Locale.ROOT));
    return known != null
        ? known
        : "You perform the " + ritual + ". The room grows very quiet.";
  }

  private static final Map<String, String> OPENINGS =
      Map.of(
          "candle circle", "Thirteen candles gutter at once. A cold draft crosses the room.",
          "ouija", "The planchette trembles, then slides slowly across the board.",
          "mirror gazing", "Your reflection blinks a moment after you do.",
          "tarot", "The Tower card turns itself face up.",
          "crystal ball", "Mist swirls inside the crystal ball, then parts.",
          "table tipping", "The table rises an inch, hesitates, and thumps back down.");
}
