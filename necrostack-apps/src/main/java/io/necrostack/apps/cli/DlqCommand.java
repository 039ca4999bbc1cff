package io.necrostack.apps.cli;

import io.necrostack.backend.BackendException;
import io.necrostack.core.Event;
import io.necrostack.redis.DeadLetter;
import io.necrostack.redis.RedisBackend;
import io.necrostack.redis.RedisDeadLetters;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code necrostack dlq}: the dead letters of a Redis stream, with the subcommands {@code
 * list}, {@code replay} and {@code purge}.
 */
@Command(
    name = "dlq",
    mixinStandardHelpOptions = true,
    description = {
      "Inspect, replay or purge the dead letters of a Redis stream: the events a consumer gave"
          + " up on (a handler failure, too many deliveries, a malformed entry)."
    },
    footer = {"", "Exit codes: 0 success, 1 failure (such as Redis unreachable), 2 usage error."})
final class DlqCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Override
  public Integer call() {
    throw new ParameterException(
        spec.commandLine(), "missing command: choose one of " + spec.subcommands().keySet());
  }

  /** Runs an operation on the dead letters, turning a Redis failure into exit code 1. */
  private static int withDeadLetters(RedisOptions redis, Operation operation) {
    try (RedisBackend backend = redis.open()) {
      return operation.run(backend.deadLetters());
    } catch (BackendException e) {
      throw new CommandFailedException(e.getMessage(), e);
    }
  }

  private interface Operation {
    int run(RedisDeadLetters deadLetters);
  }

  /** {@code necrostack dlq list}. */
  @Command(
      name = "list",
      mixinStandardHelpOptions = true,
      description = "List the oldest dead letters: id, event type, when and why it failed.",
      footer = {"", "Exit codes: 0 success, 1 failure, 2 usage error."})
  static final class ListCommand implements Callable<Integer> {
    private final CliIo io;

    @Spec CommandSpec spec;
    @Mixin LoggingOptions logging;
    @Mixin RedisOptions redis;

    @Option(
        names = "--limit",
        paramLabel = "N",
        defaultValue = "50",
        description = "List at most N dead letters (default: ${DEFAULT-VALUE}).")
    int limit;

    ListCommand(CliIo io) {
      this.io = io;
    }

    @Override
    public Integer call() {
      if (limit < 1) {
        throw new ParameterException(spec.commandLine(), "--limit must be at least 1");
      }
      return withDeadLetters(redis, deadLetters -> {
        long count = deadLetters.count();
        PrintStream out = io.out();
        if (count == 0) {
          out.println("No dead letters in " + redis.deadLetterStream() + " (" + redis.redis
              + ").");
          out.flush();
          return 0;
        }
        List<DeadLetter> letters = deadLetters.list(limit);
        out.println(count + " dead letter" + (count == 1 ? "" : "s") + " in "
            + redis.deadLetterStream() + " (" + redis.redis + "), oldest first:");
        out.println();
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"ID", "EVENT TYPE", "ORIGINAL ID", "FAILED AT", "DELIVERIES",
            "REASON"});
        for (DeadLetter letter : letters) {
          rows.add(new String[] {
            letter.id(),
            letter.event().map(Event::eventType).orElse("(malformed)"),
            letter.originalId().isEmpty() ? "-" : letter.originalId(),
            letter.failedAt(),
            letter.deliveryCount().map(String::valueOf).orElse("-"),
            oneLine(letter.reason())
          });
        }
        Table.print(out, rows);
        if (count > letters.size()) {
          out.println();
          out.println("  ... and " + (count - letters.size()) + " more (--limit)");
        }
        out.flush();
        return 0;
      });
    }

    private static String oneLine(String text) {
      return text.replace('\n', ' ').replace('\r', ' ');
    }
  }

  /** {@code necrostack dlq replay}. */
  @Command(
      name = "replay",
      mixinStandardHelpOptions = true,
      description = "Write dead-lettered events back to the stream (with their metadata) and"
          + " delete their dead letters; malformed entries are never replayed.",
      footer = {"", "Exit codes: 0 success, 1 failure, 2 usage error."})
  static final class ReplayCommand implements Callable<Integer> {
    private final CliIo io;

    @Spec CommandSpec spec;
    @Mixin LoggingOptions logging;
    @Mixin RedisOptions redis;

    @Option(
        names = "--type",
        paramLabel = "EVENT_TYPE",
        description = "Replay only the dead letters of this event type (default: all).")
    String type;

    ReplayCommand(CliIo io) {
      this.io = io;
    }

    @Override
    public Integer call() {
      if (type != null && type.isBlank()) {
        throw new ParameterException(spec.commandLine(), "--type must not be blank");
      }
      return withDeadLetters(redis, deadLetters -> {
        int replayed = type == null ? deadLetters.replay() : deadLetters.replayType(type);
        long left = deadLetters.count();
        io.out().println("Replayed " + replayed + " dead letter" + (replayed == 1 ? "" : "s")
            + (type == null ? "" : " of type " + type.strip()) + " to " + redis.stream + " ("
            + redis.redis + "); " + left + " left in " + redis.deadLetterStream() + ".");
        io.out().flush();
        return 0;
      });
    }
  }

  /** {@code necrostack dlq purge}. */
  @Command(
      name = "purge",
      mixinStandardHelpOptions = true,
      description = "Delete every dead letter of the stream.",
      footer = {"", "Exit codes: 0 success, 1 failure, 2 usage error."})
  static final class PurgeCommand implements Callable<Integer> {
    private final CliIo io;

    @Mixin LoggingOptions logging;
    @Mixin RedisOptions redis;

    PurgeCommand(CliIo io) {
      this.io = io;
    }

    @Override
    public Integer call() {
      return withDeadLetters(redis, deadLetters -> {
        long purged = deadLetters.purge();
        io.out().println("Purged " + purged + " dead letter" + (purged == 1 ? "" : "s")
            + " from " + redis.deadLetterStream() + " (" + redis.redis + ").");
        io.out().flush();
        return 0;
      });
    }
  }
}
