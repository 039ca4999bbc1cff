package io.necrostack.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.awaitility.Awaitility.await;

import io.lettuce.core.Range;
import io.lettuce.core.StreamMessage;
import io.necrostack.backend.BufferedSettles.RefusedSettle;
import io.necrostack.backend.Delivery;
import io.necrostack.core.Event;
import io.necrostack.testing.RedisServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Batched settles: the failure of one settle never surfaces in another event's commit. Redis
 * unreachable: the settle stays queued and is sent again, once. Redis refusing it (an error
 * reply): it is reported for its own entries, with nothing of it written.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class RedisSettleFailureTest {
  @RegisterExtension static final RedisServer server = RedisServer.durable();

  private final List<AutoCloseable> toClose = new ArrayList<>();

  @AfterEach
  void cleanUp() throws Exception {
    if (server.isAlive()) {
      try (TestRedis raw = new TestRedis(server.url())) {
        raw.sync().configSet("maxmemory", "0");
      }
    }
    for (AutoCloseable c : toClose) {
      c.close();
    }
  }

  private RedisBackend backend(String stream) {
    RedisBackend b = RedisBackend.create(RedisBackendConfig.builder()
        .url(server.url()).stream(stream).consumer("settler")
        .batchSize(2) // two settles fill the buffer
        .readAhead(false)
        .blockTime(Duration.ofMillis(50))
        .commandTimeout(Duration.ofSeconds(2))
        .retryTime(Duration.ofMillis(200))
        .build());
    toClose.add(b);
    return b;
  }

  private static List<Delivery> pull(RedisBackend b, int n) throws InterruptedException {
    List<Delivery> got = new ArrayList<>();
    while (got.size() < n) {
      got.addAll(b.pull(n - got.size(), Duration.ofMillis(100)));
    }
    return got;
  }

  private static Event in(int i) {
    return Event.of("IN", Map.of("i", i));
  }

  private static List<Event> out(int i) {
    return List.of(Event.of("OUT", Map.of("i", i)));
  }

  /** The i of every OUT entry in the stream, in stream order. */
  private static List<Object> outputs(TestRedis raw, String stream) {
    List<Object> found = new ArrayList<>();
    for (StreamMessage<String, String> m : raw.sync().xrange(stream, Range.create("-", "+"))) {
      Event e = Event.fromJson(m.getBody().get("event"));
      if (e.eventType().equals("OUT")) {
        found.add(((Number) e.payload().get("i")).intValue());
      }
    }
    return found;
  }

  @Test
  void aCommitNeverThrowsTheFailureOfAnOlderSettleAndEverySettleIsSentOnceRedisIsBack()
      throws Exception {
    String stream = TestRedis.uniqueStream("settle-outage");
    RedisBackend backend = backend(stream);
    backend.enqueueAll(List.of(in(0), in(1), in(2), in(3)));
    List<Delivery> first = pull(backend, 2);
    List<Delivery> second = pull(backend, 2);
    server.kill();
    await().atMost(Duration.ofSeconds(20)).until(() -> !backend.health().up());

    backend.commit(first.get(0), out(0));
    backend.commit(first.get(1), out(1)); // fills the buffer: sent, fails
    backend.commit(second.get(0), out(2));
    assertThatCode(() -> backend.commit(second.get(1), out(3)))
        .as("the older settle's failure is not this commit's").doesNotThrowAnyException();

    server.start();
    await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> {
      backend.flush();
      return true;
    });
    try (TestRedis raw = new TestRedis(server.url())) {
      assertThat(outputs(raw, stream)).as("each written once, in order")
          .containsExactly(0, 1, 2, 3);
      assertThat(raw.sync().xpending(stream, "necrostack").getCount()).isZero();
    }
    assertThat(backend.takeRefusedSettles()).as("an outage refuses nothing").isEmpty();
  }

  @Test
  void aSettleRedisRefusesIsReportedForItsOwnEntriesWithNothingWritten() throws Exception {
    String stream = TestRedis.uniqueStream("settle-refused");
    RedisBackend backend = backend(stream);
    try (TestRedis raw = new TestRedis(server.url())) {
      backend.enqueueAll(List.of(in(0), in(1), in(2), in(3)));
      List<Delivery> first = pull(backend, 2);
      List<Delivery> second = pull(backend, 2);
      raw.sync().configSet("maxmemory", "1"); // every XADD is refused: OOM

      backend.commit(first.get(0), out(0));
      backend.commit(first.get(1), out(1)); // fills the buffer: sent, refused
      backend.commit(second.get(0), List.of()); // an ack
      assertThatCode(() -> backend.commit(second.get(1), out(3))).doesNotThrowAnyException();
      assertThatCode(backend::flush).as("a refusal is reported, not thrown")
          .doesNotThrowAnyException();

      List<RefusedSettle> refused = backend.takeRefusedSettles();
      assertThat(refused).as("the commits; the ack in the refused script was sent alone")
          .extracting(RefusedSettle::delivery)
          .containsExactly(first.get(0), first.get(1), second.get(1));
      assertThat(refused.get(0).emitted()).extracting(e -> e.payload().get("i"))
          .containsExactly(0);
      assertThat(refused).extracting(RefusedSettle::attempt).containsOnly(1);
      assertThat(refused.get(0).error()).hasMessageContaining("OOM");
      assertThat(outputs(raw, stream)).as("nothing of a refused settle is written").isEmpty();
      assertThat(raw.sync().xpending(stream, "necrostack").getCount()).isEqualTo(3);
      assertThat(backend.takeRefusedSettles()).as("taken once").isEmpty();

      backend.commit(first.get(0), out(0)); // as the Spine's RETRY does
      backend.flush();
      assertThat(backend.takeRefusedSettles()).singleElement()
          .satisfies(r -> assertThat(r.attempt()).isEqualTo(2));

      raw.sync().configSet("maxmemory", "0");
      for (RefusedSettle r : refused) {
        backend.commit(r.delivery(), r.emitted());
      }
      backend.flush();
      assertThat(outputs(raw, stream)).containsExactly(0, 1, 3);
      assertThat(raw.sync().xpending(stream, "necrostack").getCount()).isZero();
      assertThat(backend.metrics().refusedSettles()).isEqualTo(4);
    }
  }
}
