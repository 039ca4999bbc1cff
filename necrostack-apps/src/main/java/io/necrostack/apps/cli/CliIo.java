package io.necrostack.apps.cli;

import java.io.PrintStream;
import java.util.Objects;

/**
 * Where a command writes: human output, errors, and whether stderr is a terminal.
 *
 * @param out human output (the séance, the ETL summary, the graph)
 * @param err error messages and progress
 * @param terminal true when a person is watching (progress is shown only then)
 */
record CliIo(PrintStream out, PrintStream err, boolean terminal) {
  CliIo {
    Objects.requireNonNull(out, "out == null");
    Objects.requireNonNull(err, "err == null");
  }
}
