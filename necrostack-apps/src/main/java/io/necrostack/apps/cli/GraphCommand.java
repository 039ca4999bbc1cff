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
    description = {
      "Print an app's event graph: its organs, the types they listen to and emit.",
      "--format asyncapi writes an AsyncAPI 3.0 document: the stream as its channel, a"
          + " message per event type (the envelope and, where declared, the payload's"
          + " schema), an operation per organ."
    })
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
    DOT,
    ASYNCAPI;

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
      description = "mermaid, dot or asyncapi (default: ${DEFAULT-VALUE}).")
  Format format;

  @Option(
      names = "--stream",
      paramLabel = "KEY",
      description = "With --format asyncapi: the channel's address, the stream key or topic"
          + " the app runs on (default: necrostack:<app>).")
  String stream;

  GraphCommand(CliIo io) {
    this.io = io;
  }

  @Override
  public Integer call() {
    EventGraph graph = EventGraph.of(organs(app));
    io.out().print(switch (format) {
      case DOT -> graph.toDot();
      case MERMAID -> graph.toMermaid();
      case ASYNCAPI -> graph.toAsyncApi("NecroStack " + app, version(),
          stream != null ? stream : "necrostack:" + app);
    });
    io.out().flush();
    return 0;
  }

  /** This build's version, from the jar's manifest; "development" when run from classes. */
  static String version() {
    String version = GraphCommand.class.getPackage().getImplementationVersion();
    return version != null ? version : "development";
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
