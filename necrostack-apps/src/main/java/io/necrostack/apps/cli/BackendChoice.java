package io.necrostack.apps.cli;

import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.necrostack.backend.Backend;
import io.necrostack.backend.InMemoryBackend;
import io.necrostack.redis.RedisBackend;
import io.necrostack.redis.RedisBackendConfig;
import java.time.Duration;
import java.util.Locale;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * The backend named by {@code --backend}: {@code memory} (the default) or a Redis URL,
 * {@code redis://[user:password@]host:port} ({@code rediss://} for TLS).
 *
 * <p>The choice is parsed when the command line is read, so a bad value is a usage error
 * (exit code 2) before anything runs; the backend itself is opened by {@link #open}.
 */
sealed interface BackendChoice {

  /**
   * Opens the chosen backend for one run of an app; the caller closes it.
   *
   * @param app the app's name, part of a per-run stream's key
   * @param stream the Redis stream, or null for a stream of this run's own
   * @param group the Redis consumer group, or null for the default
   * @throws io.necrostack.backend.BackendException if the backend cannot be reached
   */
  OpenedBackend open(String app, String stream, String group);

  /** The embedded in-memory backend: a run ends when its queue is drained. */
  record Memory() implements BackendChoice {
    @Override
    public OpenedBackend open(String app, String stream, String group) {
      return new OpenedBackend(new InMemoryBackend(), "memory", () -> {});
    }

    @Override
    public String toString() {
      return "memory";
    }
  }

  /**
   * A Redis server: the chain runs through a Redis stream and its consumer group.
   *
   * @param url the URL as given, password included: never print it, see {@link #redacted()}
   */
  record Redis(String url) implements BackendChoice {
    private static final Logger log = LoggerFactory.getLogger(Redis.class);

    /** The URL with the password replaced by {@code ***}. */
    String redacted() {
      return RedisUrl.redact(url);
    }

    /**
     * Opens a Redis backend. Without a stream the run gets a stream of its own, {@code
     * necrostack:<app>:<run id>}, so runs sharing a server never handle each other's events
     * (one group reading one stream shares its entries among every consumer); that stream and
     * its delayed set are deleted when the backend is closed, and its dead letters kept if
     * there are any.
     */
    @Override
    public OpenedBackend open(String app, String stream, String group) {
      boolean perRun = stream == null;
      String key = perRun
          ? "necrostack:" + app + ":" + UUID.randomUUID().toString().substring(0, 8)
          : stream;
      RedisBackendConfig config =
          RedisBackendConfig.builder()
              .url(url)
              .stream(key)
              .group(group == null ? RedisBackendConfig.DEFAULT_GROUP : group)
              .build();
      RedisBackend backend = RedisBackend.create(config);
      String description = config.redactedUrl() + " stream " + key;
      return new OpenedBackend(
          backend, description, perRun ? () -> deleteRunKeys(config) : () -> {});
    }

    /** Deletes a per-run stream and its delayed set; its dead letters stay for inspection. */
    private static void deleteRunKeys(RedisBackendConfig config) {
      RedisClient client = RedisClient.create(config.url());
      try (StatefulRedisConnection<String, String> connection = client.connect()) {
        var redis = connection.sync();
        redis.del(config.stream(), config.delayedKey());
        long deadLetters = redis.xlen(config.deadLetterStream());
        if (deadLetters > 0) {
          log.atWarn()
              .addKeyValue("stream", config.deadLetterStream())
              .addKeyValue("dead_letters", deadLetters)
              .log("the run left dead letters; see necrostack dlq list --stream "
                  + config.stream());
        }
      } catch (RuntimeException e) {
        // Only tidiness is lost: the run itself is over.
        log.atWarn().addKeyValue("stream", config.stream())
            .addKeyValue("error", e.getClass().getSimpleName())
            .log("could not delete the run's stream");
      } finally {
        client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
      }
    }

    @Override
    public String toString() {
      return redacted();
    }
  }

  /**
   * Parses a {@code --backend} value.
   *
   * @throws IllegalArgumentException saying what is accepted; never containing a password
   */
  static BackendChoice parse(String value) {
    String v = value == null ? "" : value.strip();
    String lower = v.toLowerCase(Locale.ROOT);
    if (lower.equals("memory") || lower.equals("in-memory")) {
      return new Memory();
    }
    if (lower.startsWith("redis://") || lower.startsWith("rediss://")) {
      // The scheme is case-insensitive for people, not for the Redis client.
      int scheme = v.indexOf("://");
      return new Redis(RedisUrl.parse(lower.substring(0, scheme) + v.substring(scheme)).url());
    }
    throw new IllegalArgumentException(
        "unknown backend '" + RedisUrl.redact(v)
            + "': expected 'memory' or a Redis URL, redis://host:port or rediss://host:port");
  }

  /** Lets picocli parse {@code --backend}, turning a bad value into a usage error. */
  final class Converter implements ITypeConverter<BackendChoice> {
    @Override
    public BackendChoice convert(String value) {
      try {
        return parse(value);
      } catch (IllegalArgumentException e) {
        throw new TypeConversionException(e.getMessage());
      }
    }
  }
}
