package io.necrostack.redis;

import io.necrostack.testing.RedisServer;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.necrostack.backend.BackendException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/** {@link RedisBackend#connect}: waiting for Redis at start, and giving up visibly. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RedisStartupTest {
  @RegisterExtension static final RedisServer server = RedisServer.ephemeral();

  @Test
  void connectsAtOnceWhenRedisIsUp() {
    RedisBackendConfig config = RedisBackendConfig.builder().url(server.url())
        .stream(TestRedis.uniqueStream("startup")).build();

    try (RedisBackend backend = RedisBackend.connect(config, Duration.ofSeconds(5))) {
      assertThat(backend.health().up()).isTrue();
    }
  }

  @Test
  void givesUpAfterItsTimeWithARedactedMessage() throws Exception {
    int port;
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = socket.getLocalPort(); // closed again: nothing listens there
    }
    RedisBackendConfig config = RedisBackendConfig.builder()
        .url("redis://app:s3cr3t-pw@127.0.0.1:" + port).build();
    long start = System.nanoTime();

    assertThatThrownBy(() -> RedisBackend.connect(config, Duration.ofMillis(800)))
        .isInstanceOf(BackendException.class)
        .hasMessageContaining("gave up connecting to Redis")
        .hasMessageContaining("127.0.0.1:" + port)
        .satisfies(e -> assertThat(e.getMessage()).doesNotContain("s3cr3t-pw"));
    assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start))
        .as("kept trying for its time").isGreaterThanOrEqualTo(800);
  }
}
