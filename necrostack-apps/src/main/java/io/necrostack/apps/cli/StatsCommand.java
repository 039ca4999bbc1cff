package io.necrostack.apps.cli;

import io.necrostack.core.Event;
import io.necrostack.redis.DeadLetter;
import io.necrostack.redis.RedisBackend;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code necrostack stats}: the figures of a Redis stream and a breakdown of its dead letters. */
@Command(
    name = "stats",
    mixinStandardHelpOptions = true,
    description = {
      "Show a Redis stream's figures (length, group lag, pending, dead letters) and its dead"
          + " letters counted by event type and by reason."
    },
    footer = {"", "Exit codes: 0 success, 1 failure (such as Redis unreachable), 2 usage error."})
final class StatsCommand implements Callable<Integer> {
  /** Dead letters examined for the breakdown, oldest first: bounds the command's cost. */
  static final int MAX_EXAMINED = 10_000;

  private final CliIo io;

  @Mixin LoggingOptions logging;
  @Mixin RedisOptions redis;

  StatsCommand(CliIo io) {
    this.io = io;
  }

  @Override
  public Integer call() {
    try (RedisBackend backend = redis.open()) {
      Map<String, Object> d = HealthCommand.upDetails(backend);
      long deadLetters = ((Number) d.get("dead_letters")).longValue();
      PrintStream out = io.out();
      out.println("Stream " + redis.stream + " at " + redis.redis);
      List<String[]> rows = new ArrayList<>();
      rows.add(new String[] {"entries", String.valueOf(d.get("stream_length"))});
      rows.add(new String[] {"group", redis.group});
      rows.add(new String[] {"group lag", HealthCommand.lag(d.get("group_lag"))});
      rows.add(new String[] {"pending", String.valueOf(d.get("pending"))});
      rows.add(new String[] {"dead letters", String.valueOf(deadLetters)});
      Table.print(out, rows);
      if (deadLetters > 0) {
        List<DeadLetter> letters =
            backend.deadLetters().list((int) Math.min(deadLetters, MAX_EXAMINED));
        Map<String, Integer> byType = new TreeMap<>();
        Map<String, Integer> byReason = new TreeMap<>();
        for (DeadLetter letter : letters) {
          byType.merge(letter.event().map(Event::eventType).orElse("(malformed)"), 1,
              Integer::sum);
          byReason.merge(letter.reason().replace('\n', ' '), 1, Integer::sum);
        }
        out.println();
        out.println("Dead letters by event type"
            + (deadLetters > letters.size() ? " (oldest " + letters.size() + ")" : "") + ":");
        print(out, byType);
        out.println();
        out.println("Dead letters by reason:");
        print(out, byReason);
      }
      out.flush();
      return 0;
    }
  }

  private static void print(PrintStream out, Map<String, Integer> counts) {
    List<String[]> rows = new ArrayList<>();
    counts.forEach((key, count) -> rows.add(new String[] {String.valueOf(count), key}));
    Table.print(out, rows);
  }
}
