package io.necrostack.apps.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.IVersionProvider;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** The top-level {@code necrostack} command: only dispatches to its subcommands. */
@Command(
    name = "necrostack",
    mixinStandardHelpOptions = true,
    versionProvider = NecrostackCommand.Version.class,
    description = {
      "NecroStack demos: an event-driven séance and a streaming CSV ETL, in memory or through"
          + " Redis Streams (--backend redis://host:port).",
      "Redis operations: dlq list|replay|purge, health, stats."
    },
    footer = {
      "",
      "Exit codes: 0 success, 1 failure, 2 usage error.",
      "Human output goes to stdout; logs go to stderr as JSON lines."
    })
final class NecrostackCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Override
  public Integer call() {
    throw new ParameterException(
        spec.commandLine(), "missing command: choose one of " + spec.subcommands().keySet());
  }

  /** The version from the jar's manifest, or "dev" when run from classes. */
  static final class Version implements IVersionProvider {
    @Override
    public String[] getVersion() {
      String version = NecrostackCommand.class.getPackage().getImplementationVersion();
      return new String[] {"necrostack " + (version == null ? "dev" : version)};
    }
  }
}
