package io.necrostack.faults;

import io.necrostack.testing.RedisServer;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lettuce.core.RedisClient;
import io.lettuce.core.XAddArgs;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.codec.ByteArrayCodec;
import io.necrostack.core.Event;
import io.necrostack.core.Organ;
import io.necrostack.core.Spine;
import io.necrostack.redis.DeadLetter;
import io.necrostack.redis.RedisBackend;
import io.necrostack.redis.RedisBackendConfig;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Scenario 1: entries written to the stream by hand, bypassing the backend (as {@code
 * redis-cli XADD} would), between good events. Each bad one is dead-lettered with a reason
 * that says precisely what is wrong; the consumer keeps going and handles every good one.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class BadInputTest {
  private static RedisServer server;

  @BeforeAll
  static void startRedis() throws Exception {
    server = RedisServer.ephemeral().start();
  }

  @AfterAll
  static void stopRedis() throws Exception {
    if (server != null) {
      server.close();
    }
  }

  private static String eventJson(String id, String type, String payload) {
    return "{\"id\":\"" + id + "\",\"timestamp\":\"2026-01-01T00:00:00+00:00\",\"event_type\":\""
        + type + "\",\"payload\":" + payload + "}";
  }

  @Test
  void everyBadEntryIsDeadLetteredWithItsReasonAndTheGoodOnesAroundThemAreHandled()
      throws Exception {
    String stream = TestRedis.uniqueStream("bad");
    Set<Long> handled = ConcurrentHashMap.newKeySet();
    Organ work = Organ.on("WORK", e -> {
      Object i = e.payload().get("i");
      handled.add(i == null ? -2L : ((Number) i).longValue()); // -2: an event got in by mistake
      return null;
    });
    // Expected reason fragment per bad entry id, in writing order.
    Map<String, String> expected = new LinkedHashMap<>();
    String validId = "6f1c1f0e-8d3b-4a53-9a9e-0d3f2c1b0a99";
    String bigString = "x".repeat(Event.MAX_PAYLOAD_BYTES + 10);
    byte[] garbage = new byte[10 * 1024 * 1024];
    new Random(42).nextBytes(garbage);

    RedisBackend backend = RedisBackend.create(RedisBackendConfig.builder()
        .url(server.url()).stream(stream).consumer("bad-1")
        .blockTime(Duration.ofMillis(50)).build());
    Spine spine = Spine.builder().organs(work).backend(backend).ownsBackend(true).build();
    RedisClient bytesClient = RedisClient.create(server.url());
    try (TestRedis raw = new TestRedis(server.url());
        StatefulRedisConnection<byte[], byte[]> bytes = bytesClient.connect(ByteArrayCodec.INSTANCE)) {
      var redis = raw.sync();
      long good = 0;
      backend.enqueue(Event.of("WORK", Map.of("i", good++)));
      expected.put(redis.xadd(stream, Map.of("foo", "bar", "note", "no event field")),
          "malformed entry: no 'event' field");
      backend.enqueue(Event.of("WORK", Map.of("i", good++)));
      expected.put(redis.xadd(stream, Map.of("event", "{not json at all")),
          "json: malformed JSON");
      backend.enqueue(Event.of("WORK", Map.of("i", good++)));
      expected.put(redis.xadd(stream, Map.of("event", "[1, 2, 3]")),
          "expected a JSON object, got an array");
      backend.enqueue(Event.of("WORK", Map.of("i", good++)));
      expected.put(redis.xadd(stream, Map.of("event",
          "{\"event_type\":\"WORK\",\"payload\":\"not an object\"}")),
          "payload: must be a JSON object");
      backend.enqueue(Event.of("WORK", Map.of("i", good++)));
      expected.put(redis.xadd(stream, Map.of("event", "{\"event_type\":42}")),
          "event_type: must be a string");
      backend.enqueue(Event.of("WORK", Map.of("i", good++)));
      expected.put(redis.xadd(stream, Map.of("event", eventJson(validId, "", "{}"))),
          "event_type: must not be blank");
      backend.enqueue(Event.of("WORK", Map.of("i", good++)));
      expected.put(redis.xadd(stream, Map.of("event", eventJson("not-a-uuid", "WORK", "{}"))),
          "id: not a UUID: 'not-a-uuid'");
      backend.enqueue(Event.of("WORK", Map.of("i", good++)));
      expected.put(redis.xadd(stream, Map.of("event",
          eventJson(validId, "WORK", "{\"i\":-1}").replace("}}", "},\"extra\":1}"))),
          "extra: unknown field");
      backend.enqueue(Event.of("WORK", Map.of("i", good++)));
      expected.put(redis.xadd(stream, Map.of("event",
          eventJson(validId, "WORK", "{\"s\":\"" + bigString + "\"}"))),
          "over the limit of " + Event.MAX_PAYLOAD_BYTES);
      backend.enqueue(Event.of("WORK", Map.of("i", good++)));
      String garbageId = bytes.sync().xadd(stream.getBytes(StandardCharsets.UTF_8),
          new XAddArgs(), "event".getBytes(StandardCharsets.UTF_8), garbage);
      // Over the read limits: dead-lettered by the server, never decoded by the worker.
      expected.put(garbageId, "event field is 10485760 bytes, over the limit of 1048576");
      backend.enqueue(Event.of("WORK", Map.of("i", good++)));
      // Not bad input: only event_type is required, as in the Python original, whose id,
      // timestamp and payload have defaults.
      redis.xadd(stream, Map.of("event",
          "{\"event_type\":\"WORK\",\"payload\":{\"i\":" + good++ + "}}"));
      // Extra fields beside a valid event are not an error either: readers ignore fields they
      // do not know (metadata travels in known or "meta." fields).
      String extraOk = eventJson("0b0b0b0b-0b0b-4b0b-8b0b-0b0b0b0b0b0b", "WORK",
          "{\"i\":" + good++ + "}");
      redis.xadd(stream, Map.of("event", extraOk, "source", "hand-written", "x-trace", "abc"));
      backend.enqueue(Event.of("WORK", Map.of("i", good++)));
      long goodCount = good;

      spine.start();
      await().atMost(Duration.ofSeconds(60)).until(() -> handled.size() == goodCount);
      await().atMost(Duration.ofSeconds(30))
          .until(() -> backend.deadLetters().count() == expected.size());
      spine.close();

      List<DeadLetter> letters;
      try (RedisBackend inspector = RedisBackend.create(RedisBackendConfig.builder()
          .url(server.url()).stream(stream).consumer("inspector").build())) {
        letters = inspector.deadLetters().list(100);
      }
      Map<String, String> reasons = letters.stream()
          .collect(Collectors.toMap(DeadLetter::originalId, DeadLetter::reason));
      System.out.println("BAD_INPUT dead-letter reasons:");
      expected.keySet().forEach(id -> System.out.println("  " + id + " -> "
          + abbreviate(reasons.get(id))));
      assertThat(reasons.keySet()).containsExactlyInAnyOrderElementsOf(expected.keySet());
      expected.forEach((id, fragment) ->
          assertThat(reasons.get(id)).as("reason for %s", id).contains(fragment));
      assertThat(handled).hasSize((int) goodCount);
      assertThat(redis.xpending(stream, "necrostack").getCount()).as("pending").isZero();
      // The consumer is still fine: one more good event after all that.
      assertThat(handled).doesNotContain(-1L, -2L);
    } finally {
      spine.close();
      bytesClient.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
  }

  private static String abbreviate(String s) {
    return s == null || s.length() <= 200 ? s : s.substring(0, 200) + "...";
  }
}
