package io.necrostack.apps.cli;

import io.necrostack.apps.etl.EtlApp;
import io.necrostack.apps.seance.SeanceApp;
import io.necrostack.core.EventGraph;
import io.necrostack.core.Organ;
import java.io.OutputStream;
import java.io.PrintStream;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code necrostack graph <app>}: prints an app's event graph as Mermaid or Graphviz DOT. */
@Command(
    name = "graph",
    mixinStandardHelpOptions = true,
    description = "Print an app's event graph: its organs, the types they listen to and emit.")
final class GraphCommand implements Callable<Integer> {
  /** The apps whose graph can be printed. */
  enum App {
    SEANCE,
    ETL;

    @Override
    public String toString() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /** The output formats. */
  enum Format {
    MERMAID,
    DOT;

    @Override
    public String toString() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  private final CliIo io;

  @Mixin LoggingOptions logging;

  @Parameters(
      index = "0",
      paramLabel = "APP",
      description = "The app: ${COMPLETION-CANDIDATES}.")
  App app;

  @Option(
      names = "--format",
      paramLabel = "FORMAT",
      defaultValue = "mermaid",
      description = "mermaid or dot (default: ${DEFAULT-VALUE}).")
  Format format;

  GraphCommand(CliIo io) {
    this.io = io;
  }

  @Override
  public Integer call() {
    EventGraph graph = EventGraph.of(organs(app));
    io.out().print(format == Format.DOT ? graph.toDot() : graph.toMermaid());
    io.out().flush();
    return 0;
  }

  /** The app's organs; they are only inspected, never run, so output goes nowhere. */
  static List<Organ> organs(App app) {
    PrintStream nowhere = new PrintStream(OutputStream.nullOutputStream());
    return switch (app) {
      case SEANCE -> SeanceApp.organs(nowhere, () -> {});
      case ETL -> EtlApp.organs(nowhere, outcome -> {});
    };
  }
}
