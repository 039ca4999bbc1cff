package io.necrostack.redis;

import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import java.time.Duration;
import java.util.UUID;

/** A plain Lettuce connection for tests to write and inspect raw stream entries. */
final class TestRedis implements AutoCloseable {
  private final RedisClient client;
  private final StatefulRedisConnection<String, String> connection;

  TestRedis(String url) {
    client = RedisClient.create(url);
    connection = client.connect();
  }

  RedisCommands<String, String> sync() {
    return connection.sync();
  }

  /** A stream key no other test uses. */
  static String uniqueStream(String name) {
    return "test:" + name + ":" + UUID.randomUUID().toString().substring(0, 8);
  }

  @Override
  public void close() {
    connection.close();
    client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
  }
}
