package io.necrostack.redis;

import io.necrostack.testing.RedisServer;
import io.necrostack.backend.Backend;
import io.necrostack.testing.BackendConformanceTest;
import io.necrostack.testing.BackendFeatures;
import java.time.Duration;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The Redis backend passes the conformance suite: durable (a new backend on the same stream,
 * group and consumer name takes over the old one's entries), consumer groups, ordered for a
 * single consumer; {@code nack} dead-letters rather than redelivering.
 */
class RedisBackendConformanceTest extends BackendConformanceTest {
  @RegisterExtension static final RedisServer server = RedisServer.ephemeral();

  private RedisBackendConfig config;

  @Override
  protected Backend newBackend() {
    config = configFor(TestRedis.uniqueStream("conformance"), "consumer-a");
    return RedisBackend.create(config);
  }

  @Override
  protected BackendFeatures features() {
    return new BackendFeatures(true, true, false, true);
  }

  @Override
  protected Backend newConsumer(Backend first) {
    return RedisBackend.create(configFor(config.stream(), "consumer-b"));
  }

  @Override
  protected Backend reopen(Backend closed) {
    return RedisBackend.create(config); // same stream, group and consumer name
  }

  private static RedisBackendConfig configFor(String stream, String consumer) {
    return RedisBackendConfig.builder()
        .url(server.url())
        .stream(stream)
        .consumer(consumer)
        .blockTime(Duration.ofMillis(50))
        .delayedPollInterval(Duration.ofMillis(50))
        .build();
  }
}
