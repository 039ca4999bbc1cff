package io.necrostack.redis;

import io.necrostack.testing.RedisServer;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.necrostack.backend.BackendException;
import io.necrostack.core.Event;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/** A server with a password: the right one works, a wrong one fails clearly, never leaked. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RedisAuthTest {
  private static final String PASSWORD = "right-horse-battery";
  private static final String WRONG = "wrong-staple-9917";

  @RegisterExtension static final RedisServer server = RedisServer.withPassword(PASSWORD);

  private RedisBackendConfig config(String password) {
    return RedisBackendConfig.builder()
        .url("redis://:" + password + "@127.0.0.1:" + server.port())
        .stream(TestRedis.uniqueStream("auth"))
        .blockTime(Duration.ofMillis(50))
        .build();
  }

  @Test
  void theWrongPasswordGivesAClearErrorWithoutThePassword() {
    RedisBackendConfig config = config(WRONG);

    assertThatThrownBy(() -> RedisBackend.create(config))
        .isInstanceOf(BackendException.class)
        .hasMessageContaining("authentication failed")
        .hasMessageContaining("127.0.0.1:" + server.port())
        .satisfies(e -> {
          for (Throwable t = e; t != null; t = t.getCause()) {
            assertThat(String.valueOf(t.getMessage())).doesNotContain(WRONG);
            assertThat(t.toString()).doesNotContain(WRONG);
          }
        });
    assertThat(config.toString()).doesNotContain(WRONG);
  }

  @Test
  void anUnreachableServerGivesAClearError() throws Exception {
    int closedPort;
    try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1,
        java.net.InetAddress.getLoopbackAddress())) {
      closedPort = s.getLocalPort();
    }
    RedisBackendConfig config = RedisBackendConfig.builder()
        .url("redis://:" + WRONG + "@127.0.0.1:" + closedPort)
        .build();

    assertThatThrownBy(() -> RedisBackend.create(config))
        .isInstanceOf(BackendException.class)
        .hasMessageContaining("cannot connect to Redis at redis://***@127.0.0.1:" + closedPort)
        .hasMessageNotContaining(WRONG);
  }

  @Test
  void anAclUserWithPasswordInTheUrlWorks() throws Exception {
    try (TestRedis admin = new TestRedis(server.url())) {
      admin.sync().aclSetuser("app", io.lettuce.core.AclSetuserArgs.Builder.on()
          .addPassword("app-pass-42").allKeys().allChannels().allCommands());
    }
    RedisBackendConfig config = RedisBackendConfig.builder()
        .url("redis://app:app-pass-42@127.0.0.1:" + server.port())
        .stream(TestRedis.uniqueStream("acl"))
        .blockTime(Duration.ofMillis(50))
        .build();
    assertThat(config.toString()).contains("redis://app:***@").doesNotContain("app-pass-42");
    try (RedisBackend backend = RedisBackend.create(config)) {
      backend.enqueue(Event.of("AS_APP"));
      assertThat(backend.pull(1, Duration.ofSeconds(1))).hasSize(1);
    }
    RedisBackendConfig wrongUser = RedisBackendConfig.builder()
        .url("redis://app:not-it@127.0.0.1:" + server.port())
        .build();
    assertThatThrownBy(() -> RedisBackend.create(wrongUser))
        .hasMessageContaining("authentication failed")
        .hasMessageNotContaining("not-it");
  }

  @Test
  void theRightPasswordWorksAndStaysHidden() throws Exception {
    try (RedisBackend backend = RedisBackend.create(config(PASSWORD))) {
      backend.enqueue(Event.of("SECRET_SAFE"));
      assertThat(backend.pull(1, Duration.ofSeconds(1))).hasSize(1);
      assertThat(backend.toString()).doesNotContain(PASSWORD);
      assertThat(backend.health().description()).doesNotContain(PASSWORD);
      assertThat(backend.health().up()).isTrue();
    }
  }
}
