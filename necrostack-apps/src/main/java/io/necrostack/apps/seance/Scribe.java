package io.necrostack.apps.seance;

import io.necrostack.core.Emission;
import io.necrostack.core.Event;
import io.necrostack.core.Organ;
import java.io.PrintStream;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/** Writes the séance down: the end of the chain, it prints and emits nothing. */
final class Scribe implements Organ {
  private final PrintStream out;
  private final Runnable onDone;

  /**
   * @param out where the séance is printed
   * @param onDone called after printing, so a run on a backend that never drains can stop
   */
  Scribe(PrintStream out, Runnable onDone) {
    this.out = Objects.requireNonNull(out, "out == null");
    this.onDone = Objects.requireNonNull(onDone, "onDone == null");
  }

  @Override
  public Map<String, Class<?>> payloadTypes() {
    return SeancePayloads.of(SeanceEvents.OMEN_REVEALED);
  }

  @Override
  public Set<String> listensTo() {
    return Set.of(SeanceEvents.OMEN_REVEALED);
  }

  @Override
  public String name() {
    return "Scribe";
  }

  @Override
  public Emission handle(Event event) {
    out.print(render(event));
    out.flush();
    onDone.run();
    return Emission.none();
  }

  /** The printed séance; every line ends with a newline. */
  static String render(Event omen) {
    String spirit = Stage.text(omen, "spirit");
    StringBuilder sb = new StringBuilder();
    line(sb, "");
    line(sb, "        )");
    line(sb, "       (.)");
    line(sb, "       |~|      ~ The NecroStack Séance ~");
    line(sb, "       | |");
    line(sb, "       | |      ritual    " + Stage.text(omen, "ritual"));
    line(sb, "       | |      spirit    " + spirit);
    line(sb, "     __| |__    question  " + Stage.text(omen, "question"));
    line(sb, "    (_______)");
    line(sb, "");
    line(sb, "  " + Stage.text(omen, "opening"));
    line(sb, "  " + spirit + " appears " + Stage.text(omen, "manifestation") + ".");
    line(sb, "  The spirit is " + Stage.text(omen, "mood") + " tonight, and "
        + Stage.text(omen, "voice") + ":");
    line(sb, "");
    line(sb, "      \"" + Stage.text(omen, "answer") + "\"");
    line(sb, "");
    line(sb, "  Omen: " + Stage.text(omen, "omen") + ".");
    line(sb, "  Certainty " + Stage.text(omen, "certainty") + "%. Lucky number "
        + Stage.text(omen, "lucky_number") + ".");
    line(sb, "");
    line(sb, "  (seed " + Stage.seed(omen) + ": the same seed summons the same séance)");
    return sb.toString();
  }

  private static void line(StringBuilder sb, String text) {
    sb.append(text).append('\n');
  }
}
