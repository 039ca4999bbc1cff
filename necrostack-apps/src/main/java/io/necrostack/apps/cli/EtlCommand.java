package io.necrostack.apps.cli;

import io.necrostack.apps.etl.EtlApp;
import io.necrostack.apps.etl.EtlOutcome;
import io.necrostack.apps.etl.EtlRequest;
import io.necrostack.apps.etl.SummaryJson;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import io.necrostack.apps.etl.EtlProgress;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code necrostack etl}: streams a CSV file through the ETL chain and prints a summary. */
@Command(
    name = "etl",
    mixinStandardHelpOptions = true,
    description = {
      "Stream a CSV of employees (name, age, salary, department) through the ETL chain and"
          + " print per-department statistics.",
      "Events: ETL_START -> RAW_DATA_LOADED -> DATA_CLEANED -> DATA_TRANSFORMED, one chunk at"
          + " a time.",
      "Rows with a missing or non-numeric age or salary, the wrong number of fields or bytes"
          + " that are not UTF-8 are rejected and listed with their row numbers; the run still"
          + " succeeds. A missing file, an unusable header or text that is not CSV (such as an"
          + " unclosed quote) fails it, naming the row and line."
    },
    footer = {"", "Exit codes: 0 success, 1 failure, 2 usage error."})
final class EtlCommand implements Callable<Integer> {
  private final CliIo io;

  @Spec CommandSpec spec;

  @Mixin LoggingOptions logging;

  @Option(
      names = "--input",
      paramLabel = "FILE",
      description = "The CSV file, UTF-8 with a header row (default: a built-in sample).")
  Path input;

  @Option(
      names = "--chunk-size",
      paramLabel = "N",
      defaultValue = "" + EtlRequest.DEFAULT_CHUNK_SIZE,
      description = "Rows per chunk event, 1 to " + EtlRequest.MAX_CHUNK_SIZE
          + " (default: ${DEFAULT-VALUE}).")
  int chunkSize;

  @Option(
      names = "--output",
      paramLabel = "FILE",
      description = "Also write the summary as JSON to this file.")
  Path output;

  @Mixin ChainOptions chain;

  EtlCommand(CliIo io) {
    this.io = io;
  }

  @Override
  public Integer call() {
    EtlRequest request;
    try {
      request = new EtlRequest(input, chunkSize);
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), "--chunk-size: " + e.getMessage());
    }
    if (output != null) {
      // Fail before a long run, not after it.
      Path dir = output.toAbsolutePath().getParent();
      if (dir != null && !Files.isDirectory(dir)) {
        io.err().println("necrostack etl: cannot write the summary to " + output
            + ": directory " + dir + " does not exist");
        return 1;
      }
    }
    TerminalProgress progress = io.terminal() ? new TerminalProgress(io.err()) : null;
    EtlProgress onRows = progress != null ? progress : EtlProgress.NONE;
    EtlOutcome outcome;
    try {
      outcome = chain.run("etl", io,
          (opened, options) -> EtlApp.run(request, opened.backend(), io.out(), onRows, options));
    } finally {
      if (progress != null) {
        progress.finish();
      }
    }
    if (outcome instanceof EtlOutcome.Failure failure) {
      io.err().println("necrostack etl: " + failure.reason());
      return 1;
    }
    if (output != null) {
      try {
        SummaryJson.write(((EtlOutcome.Success) outcome).summary(), output);
      } catch (IOException e) {
        io.err().println("necrostack etl: cannot write the summary to " + output + ": " + e);
        return 1;
      }
      io.out().println();
      io.out().println("  Summary written to " + output);
      io.out().flush();
    }
    return 0;
  }
}
