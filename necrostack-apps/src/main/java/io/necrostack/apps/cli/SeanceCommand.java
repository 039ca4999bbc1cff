package io.necrostack.apps.cli;

import io.necrostack.apps.seance.SeanceApp;
import io.necrostack.apps.seance.SeanceRequest;
import io.necrostack.apps.run.ChainTimeoutException;
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
      "Events: SUMMON_RITUAL -> SPIRIT_APPEARED -> ANSWER_GENERATED -> OMEN_REVEALED.",
      "The same seed prints the same séance in memory and through Redis."
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

  @Mixin ChainOptions chain;

  SeanceCommand(CliIo io) {
    this.io = io;
  }

  @Override
  public Integer call() {
    SeanceRequest request =
        new SeanceRequest(
            spirit, ritual, question, seed == null ? OptionalLong.empty() : OptionalLong.of(seed));
    return chain.run("seance", io, (opened, options) -> {
      try {
        SeanceApp.run(request, opened.backend(), io.out(), options);
      } catch (ChainTimeoutException e) {
        throw new CommandFailedException(
            "the séance " + e.getMessage() + " on " + opened.description()
                + "; --timeout sets the bound", e);
      }
      return 0;
    });
  }
}
