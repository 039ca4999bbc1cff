package io.necrostack.faults;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import java.time.Duration;
import java.util.UUID;

/**
 * A plain Lettuce connection for tests to write raw entries and inspect streams, bypassing
 * the backend. Adapted from necrostack-redis's test class of the same name.
 */
final class TestRedis implements AutoCloseable {
  private final RedisClient client;
  private final StatefulRedisConnection<String, String> connection;

  TestRedis(String url) {
    RedisURI uri = RedisURI.create(url);
    uri.setTimeout(Duration.ofSeconds(30)); // XRANGE over big streams, 10 MB entries
    client = RedisClient.create(uri);
    connection = client.connect();
  }

  RedisCommands<String, String> sync() {
    return connection.sync();
  }

  /** A stream key no other test uses. */
  static String uniqueStream(String name) {
    return "faults:" + name + ":" + UUID.randomUUID().toString().substring(0, 8);
  }

  @Override
  public void close() {
    connection.close();
    client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
  }
}
