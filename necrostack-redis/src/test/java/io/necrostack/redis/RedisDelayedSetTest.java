package io.necrostack.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.necrostack.backend.Delivery;
import io.necrostack.core.Event;
import io.necrostack.testing.RedisServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/** What someone else writes into the delayed set is removed, logged and counted, not silently. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RedisDelayedSetTest {
  @RegisterExtension static final RedisServer server = RedisServer.ephemeral();

  @Test
  void undecodableDelayedMembersAreCountedAndTheGoodOnesStillMoved() throws Exception {
    String stream = TestRedis.uniqueStream("delayed");
    RedisBackendConfig config = RedisBackendConfig.builder().url(server.url()).stream(stream)
        .blockTime(Duration.ofMillis(50)).delayedPollInterval(Duration.ofMillis(20)).build();
    try (TestRedis raw = new TestRedis(server.url());
        RedisBackend backend = RedisBackend.create(config)) {
      backend.enqueue(Event.of("LATER"));
      Delivery d = backend.pull(1, Duration.ofSeconds(5)).get(0);
      assertThat(backend.retryLater(d, Duration.ZERO)).isTrue();
      raw.sync().zadd(config.delayedKey(), 0, "not json at all");
      raw.sync().zadd(config.delayedKey(), 0, "{\"id\":\"1-0\",\"fields\":\"not a list\"}");

      List<Delivery> again = new ArrayList<>();
      await().atMost(Duration.ofSeconds(20)).until(() -> {
        again.addAll(backend.pull(10, Duration.ofMillis(50)));
        return !again.isEmpty();
      });

      assertThat(again).singleElement()
          .satisfies(x -> assertThat(x.event().eventType()).isEqualTo("LATER"));
      backend.ack(again.get(0));
      assertThat(backend.metrics().undecodableDelayed()).isEqualTo(2);
      assertThat(backend.health().details()).containsEntry("undecodable_delayed", 2L);
      assertThat(raw.sync().zcard(config.delayedKey())).isZero();
    }
  }
}
