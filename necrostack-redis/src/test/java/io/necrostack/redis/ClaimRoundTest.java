package io.necrostack.redis;

import static org.assertj.core.api.Assertions.assertThat;

import io.lettuce.core.Consumer;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.StreamMessage;
import io.lettuce.core.XClaimArgs;
import io.lettuce.core.XGroupCreateArgs;
import io.lettuce.core.XReadArgs;
import io.necrostack.testing.RedisServer;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/** A claim round ({@link Scripts#CLAIM}) against a pending list full of renewed entries. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class ClaimRoundTest {
  @RegisterExtension static final RedisServer server = RedisServer.ephemeral();

  @Test
  @SuppressWarnings("unchecked")
  void aClaimRoundScansPastEntriesThatAreNeverIdleToAnIdleOne() {
    String stream = TestRedis.uniqueStream("claim-round");
    try (TestRedis raw = new TestRedis(server.url());
        RedisConnections redis = new RedisConnections(RedisBackendConfig.builder()
            .url(server.url()).stream(stream).consumer("claimer").build())) {
      raw.sync().xgroupCreate(XReadArgs.StreamOffset.from(stream, "0"), "necrostack",
          XGroupCreateArgs.Builder.mkstream(true));
      for (int i = 0; i < 30; i++) {
        raw.sync().xadd(stream, Map.of("event", "{}"));
      }
      // A live consumer holds the first 25 (renewed: never idle), a dead one the last 5.
      read(raw, stream, "live", 25);
      List<StreamMessage<String, String>> dead = read(raw, stream, "dead", 5);
      String[] deadIds = dead.stream().map(StreamMessage::getId).toArray(String[]::new);
      raw.sync().xclaim(stream, Consumer.from("necrostack", "dead"),
          XClaimArgs.Builder.justid().idle(100_000), deadIds); // idle 100 s, as if long dead

      List<Object> reply = redis.eval(Scripts.CLAIM, ScriptOutputType.MULTI,
          new String[] {stream}, "necrostack", "claimer", "50000", "0-0", "1");

      List<Object> claimed = (List<Object>) reply.get(1);
      assertThat(claimed).hasSize(1);
      assertThat(((List<Object>) claimed.get(0)).get(0)).isEqualTo(deadIds[0]);
    }
  }

  @SuppressWarnings("unchecked") // the varargs of one StreamOffset<String>
  private static List<StreamMessage<String, String>> read(TestRedis raw, String stream,
      String consumer, int count) {
    return raw.sync().xreadgroup(Consumer.from("necrostack", consumer),
        XReadArgs.Builder.count(count), XReadArgs.StreamOffset.lastConsumed(stream));
  }
}
