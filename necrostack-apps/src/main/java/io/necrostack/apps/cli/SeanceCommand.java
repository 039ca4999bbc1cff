package io.necrostack.apps.cli;

import io.necrostack.apps.seance.SeanceApp;
import io.necrostack.apps.seance.SeanceRequest;
import io.necrostack.backend.Backend;
import java.util.OptionalLong;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code necrostack seance}: runs the Séance chain and prints it. */
@Command(
    name = "seance",
    mixinStandardHelpOptions = true,
    description = {
      "Summon a spirit, ask it a question and read the omen.",
      "Events: SUMMON_RITUAL -> SPIRIT_APPEARED -> ANSWER_GENERATED -> OMEN_REVEALED."
    },
    footer = {"", "Exit codes: 0 success, 1 failure, 2 usage error."})
final class SeanceCommand implements Callable<Integer> {
  private final CliIo io;

  @Mixin LoggingOptions logging;

  @Option(
      names = "--spirit",
      paramLabel = "NAME",
      description = "The spirit to summon (default: whoever answers).")
  String spirit;

  @Option(
      names = "--ritual",
      paramLabel = "RITUAL",
      defaultValue = SeanceRequest.DEFAULT_RITUAL,
      description = "The ritual: candle circle, ouija, mirror gazing, tarot, crystal ball,"
          + " table tipping, or your own (default: ${DEFAULT-VALUE}).")
  String ritual;

  @Option(
      names = "--question",
      paramLabel = "QUESTION",
      defaultValue = SeanceRequest.DEFAULT_QUESTION,
      description = "What to ask (default: ${DEFAULT-VALUE}).")
  String question;

  @Option(
      names = "--seed",
      paramLabel = "N",
      description = "Seed of every random choice: the same seed prints the same séance"
          + " (default: a new one each time).")
  Long seed;

  @Option(
      names = "--backend",
      paramLabel = "BACKEND",
      defaultValue = "memory",
      converter = BackendChoice.Converter.class,
      description = "Where events wait between organs: memory (default: ${DEFAULT-VALUE}).")
  BackendChoice backend;

  SeanceCommand(CliIo io) {
    this.io = io;
  }

  @Override
  public Integer call() {
    SeanceRequest request =
        new SeanceRequest(
            spirit, ritual, question, seed == null ? OptionalLong.empty() : OptionalLong.of(seed));
    try (Backend opened = backend.open()) {
      SeanceApp.run(request, opened, io.out());
    }
    return 0;
  }
}
