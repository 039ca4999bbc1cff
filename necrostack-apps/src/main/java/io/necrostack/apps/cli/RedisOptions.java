package io.necrostack.apps.cli;

import io.necrostack.backend.BackendException;
import io.necrostack.redis.RedisBackend;
import io.necrostack.redis.RedisBackendConfig;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * The options of the Redis operations ({@code dlq}, {@code health}, {@code stats}): which
 * server, stream and consumer group.
 */
final class RedisOptions {
  @Spec(Spec.Target.MIXEE)
  CommandSpec spec;

  @Option(
      names = "--redis",
      paramLabel = "URL",
      defaultValue = RedisUrl.DEFAULT,
      converter = RedisUrl.Converter.class,
      description = "The Redis server: redis://[user:password@]host:port, rediss:// for TLS"
          + " (default: ${DEFAULT-VALUE}). The password is never printed.")
  RedisUrl redis;

  @Option(
      names = "--stream",
      paramLabel = "KEY",
      defaultValue = RedisBackendConfig.DEFAULT_STREAM,
      description = "The event stream; its dead letters are in <stream>:dlq"
          + " (default: ${DEFAULT-VALUE}).")
  String stream;

  @Option(
      names = "--group",
      paramLabel = "NAME",
      defaultValue = RedisBackendConfig.DEFAULT_GROUP,
      description = "The consumer group (default: ${DEFAULT-VALUE}).")
  String group;

  /**
   * Connects to Redis. Like any consumer, this creates the stream and the group if they do not
   * exist yet.
   *
   * @throws CommandFailedException if Redis cannot be reached (the message hides the password)
   */
  RedisBackend open() {
    if (stream.isBlank() || group.isBlank()) {
      throw new ParameterException(spec.commandLine(), "--stream and --group must not be blank");
    }
    RedisBackendConfig config;
    try {
      config = RedisBackendConfig.builder().url(redis.url()).stream(stream).group(group).build();
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), e.getMessage());
    }
    try {
      return RedisBackend.create(config);
    } catch (BackendException e) {
      // The backend's message names the URL with the password redacted.
      throw new CommandFailedException(e.getMessage(), e);
    }
  }

  /** The dead-letter stream's key (the backend's default for the stream). */
  String deadLetterStream() {
    return stream + ":dlq";
  }
}
