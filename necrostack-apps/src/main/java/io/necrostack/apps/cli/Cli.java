package io.necrostack.apps.cli;

import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;

/** Assembles the picocli command tree and runs it against the given streams. */
final class Cli {
  private static final Logger log = LoggerFactory.getLogger(Cli.class);

  private Cli() {}

  /**
   * Runs the command line.
   *
   * @return the exit code: 0 success, 1 failure, 2 usage error
   */
  static int execute(CliIo io, String... args) {
    return commandLine(io).execute(args);
  }

  /** The command tree, writing help and errors to the streams of {@code io}. */
  static CommandLine commandLine(CliIo io) {
    CommandLine cmd = new CommandLine(new NecrostackCommand());
    cmd.addSubcommand(new SeanceCommand(io));
    cmd.addSubcommand(new EtlCommand(io));
    cmd.addSubcommand(new GraphCommand(io));
    CommandLine dlq = new CommandLine(new DlqCommand());
    dlq.addSubcommand(new DlqCommand.ListCommand(io));
    dlq.addSubcommand(new DlqCommand.ReplayCommand(io));
    dlq.addSubcommand(new DlqCommand.PurgeCommand(io));
    cmd.addSubcommand(dlq);
    cmd.addSubcommand(new HealthCommand(io));
    cmd.addSubcommand(new StatsCommand(io));
    cmd.addSubcommand(new CommandLine.HelpCommand());
    // Set after adding subcommands: these settings are copied to the ones present.
    cmd.setCaseInsensitiveEnumValuesAllowed(true);
    cmd.setOut(new PrintWriter(new OutputStreamWriter(io.out(), StandardCharsets.UTF_8), true));
    cmd.setErr(new PrintWriter(new OutputStreamWriter(io.err(), StandardCharsets.UTF_8), true));
    cmd.setExecutionExceptionHandler(
        (e, commandLine, parseResult) -> {
          if (e instanceof CommandFailedException failed) {
            // An expected failure (Redis unreachable, a run past its timeout): its message
            // says it all, and no stack trace is wanted.
            log.atInfo().addKeyValue("command", commandLine.getCommandName())
                .addKeyValue("error", failed.getMessage()).log("command failed");
            if (!failed.printed()) {
              io.err().println("necrostack " + commandLine.getCommandName() + ": "
                  + failed.getMessage());
              io.err().flush();
            }
            return failed.exitCode();
          }
          // An unexpected failure: one clear line for the user, the stack trace in the logs.
          log.atError().setCause(e).addKeyValue("command", commandLine.getCommandName())
              .log("command failed");
          io.err().println("necrostack " + commandLine.getCommandName() + ": " + e);
          io.err().flush();
          return 1;
        });
    return cmd;
  }
}
