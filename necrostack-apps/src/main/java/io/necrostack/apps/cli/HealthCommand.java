package io.necrostack.apps.cli;

import io.necrostack.backend.BackendHealth;
import io.necrostack.redis.RedisBackend;
import java.io.PrintStream;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code necrostack health}: is Redis up, and how is the stream doing. */
@Command(
    name = "health",
    mixinStandardHelpOptions = true,
    description = {
      "Check a Redis stream: ping latency, stream length, group lag, pending entries and dead"
          + " letters. Suitable for a probe: the exit code says whether Redis answered."
    },
    footer = {"", "Exit codes: 0 up, 1 down or unreachable, 2 usage error."})
final class HealthCommand implements Callable<Integer> {
  private final CliIo io;

  @Mixin LoggingOptions logging;
  @Mixin RedisOptions redis;

  HealthCommand(CliIo io) {
    this.io = io;
  }

  @Override
  public Integer call() {
    try (RedisBackend backend = redis.open()) {
      Map<String, Object> d = upDetails(backend);
      PrintStream out = io.out();
      out.printf(Locale.ROOT, "Redis %s is up (ping %.2f ms)%n", redis.redis,
          ((Number) d.get("ping_ms")).doubleValue());
      out.println("  stream        " + redis.stream);
      out.println("  group         " + redis.group);
      out.println("  length        " + d.get("stream_length"));
      out.println("  group lag     " + lag(d.get("group_lag")));
      out.println("  pending       " + d.get("pending"));
      out.println("  dead letters  " + d.get("dead_letters"));
      out.flush();
      return 0;
    }
  }

  /**
   * The backend's health figures, or a failure with its description when Redis is down: what
   * {@code health} and {@code stats} both start from.
   */
  static Map<String, Object> upDetails(RedisBackend backend) {
    BackendHealth health = backend.health();
    if (!health.up()) {
      throw new CommandFailedException(health.description());
    }
    return health.details();
  }

  /** The lag, or why there is none: Redis may be unable to tell (after deletions). */
  static String lag(Object lag) {
    return lag instanceof Number n && n.longValue() < 0 ? "unknown" : String.valueOf(lag);
  }
}
