package io.necrostack.apps.seance;

import static org.assertj.core.api.Assertions.assertThat;

import io.necrostack.backend.InMemoryBackend;
import io.necrostack.core.Emission;
import io.necrostack.core.Event;
import io.necrostack.core.Organ;
import io.necrostack.core.Spine;
import io.necrostack.core.SpineStats;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class SeanceAppTest {

  /** The séance of seed 7 with every default, exactly as printed. */
  static final String SEED_7 =
      """

              )
             (.)
             |~|      ~ The NecroStack Séance ~
             | |
             | |      ritual    candle circle
             | |      spirit    Old Man Haskell
           __| |__    question  What does the future hold?
          (_______)

        Thirteen candles gutter at once. A cold draft crosses the room.
        Old Man Haskell appears as a shape in the candle smoke, wearing a very old hat.
        The spirit is impatient tonight, and snaps:

            "I see a great refactoring in your future."

        Omen: a cold wind snuffs the wick: let sleeping processes lie.
        Certainty 29%. Lucky number 2.

        (seed 7: the same seed summons the same séance)
      """;

  @Test
  void seed7PrintsExactlyTheKnownSeance() {
    assertThat(run(request(null, null, null, 7))).isEqualTo(SEED_7);
  }

  @Test
  void theChainRunsEachStageOnceInOrderUnderOneCorrelationId() {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    List<Event> seen = new ArrayList<>();
    Organ spy =
        Organ.builder("spy")
            .listensTo(
                SeanceEvents.SUMMON_RITUAL,
                SeanceEvents.SPIRIT_APPEARED,
                SeanceEvents.ANSWER_GENERATED,
                SeanceEvents.OMEN_REVEALED)
            .handle(
                e -> {
                  seen.add(e);
                  return Emission.none();
                });
    List<Organ> organs = new ArrayList<>(SeanceApp.organs(print(bytes), () -> {}));
    organs.add(spy);
    Event start = SeanceApp.summon(request(null, null, null, 7));
    SpineStats stats;
    try (Spine spine = Spine.builder().organs(organs).backend(new InMemoryBackend()).build()) {
      stats = spine.run(start);
    }

    assertThat(seen)
        .extracting(Event::eventType)
        .containsExactly(
            SeanceEvents.SUMMON_RITUAL,
            SeanceEvents.SPIRIT_APPEARED,
            SeanceEvents.ANSWER_GENERATED,
            SeanceEvents.OMEN_REVEALED);
    assertThat(seen.subList(1, 4))
        .allSatisfy(e -> assertThat(e.correlationId()).contains(start.id().toString()));
    assertThat(seen).extracting(Event::depth).containsExactly(0, 1, 2, 3);
    assertThat(stats.processed()).isEqualTo(4);
    assertThat(stats.emitted()).isEqualTo(3);
    assertThat(stats.totalHandlerErrors()).isZero();
    assertThat(stats.totalUnhandled()).isZero();
    assertThat(bytes.toString(StandardCharsets.UTF_8)).isEqualTo(SEED_7);
  }

  @Test
  void theSameSeedGivesTheSameSeanceAndOtherSeedsVary() {
    assertThat(run(request(null, null, null, 42))).isEqualTo(run(request(null, null, null, 42)));
    List<String> seances = new ArrayList<>();
    for (long seed = 1; seed <= 5; seed++) {
      seances.add(run(request(null, null, null, seed)));
    }
    assertThat(seances).doesNotHaveDuplicates();
  }

  @Test
  void theNamedSpiritRitualAndQuestionAppear() {
    String out = run(request("Aunt Mildred", "ouija", "Is the cat plotting?", 3));

    assertThat(out)
        .contains("spirit    Aunt Mildred")
        .contains("ritual    ouija")
        .contains("question  Is the cat plotting?")
        .contains("The planchette trembles")
        .contains("Aunt Mildred appears as ");
  }

  @Test
  void namingTheSpiritDoesNotChangeTheRestOfTheSeance() {
    String drawn = run(request(null, null, null, 7));
    String named = run(request("Old Man Haskell", null, null, 7));

    assertThat(named).isEqualTo(drawn);
  }

  @Test
  void anUnknownRitualGetsAGeneralOpening() {
    assertThat(run(request(null, "interpretive dance", null, 1)))
        .contains("You perform the interpretive dance. The room grows very quiet.");
  }

  @Test
  void withoutASeedTheStartEventCarriesADrawnOne() {
    Event start = SeanceApp.summon(SeanceRequest.defaults());

    assertThat(start.payload().get("seed")).isInstanceOf(Long.class);
    assertThat(start.payload())
        .containsEntry("ritual", SeanceRequest.DEFAULT_RITUAL)
        .containsEntry("question", SeanceRequest.DEFAULT_QUESTION)
        .doesNotContainKey("spirit");
  }

  @Test
  void runReturnsTheStatsOfTheFourEvents() {
    SpineStats stats =
        SeanceApp.run(request(null, null, null, 9), new InMemoryBackend(), print(sink()));

    assertThat(stats.processed()).isEqualTo(4);
  }

  static SeanceRequest request(String spirit, String ritual, String question, long seed) {
    return new SeanceRequest(spirit, ritual, question, OptionalLong.of(seed));
  }

  static String run(SeanceRequest request) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (InMemoryBackend backend = new InMemoryBackend()) {
      SeanceApp.run(request, backend, print(bytes));
    }
    return bytes.toString(StandardCharsets.UTF_8);
  }

  private static ByteArrayOutputStream sink() {
    return new ByteArrayOutputStream();
  }

  private static PrintStream print(ByteArrayOutputStream bytes) {
    return new PrintStream(bytes, true, StandardCharsets.UTF_8);
  }
}
