package io.necrostack.redis;

import static org.assertj.core.api.Assertions.assertThat;

import io.lettuce.core.Consumer;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.StreamMessage;
import io.lettuce.core.XReadArgs;
import io.necrostack.backend.Delivery;
import io.necrostack.core.Event;
import io.necrostack.testing.RedisServer;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * What bounds what the backend reads and writes: the dead-letter stream can be capped, and no
 * script is handed more values than Lua can unpack (issue #13, sections 6 and 8).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RedisReadBoundsTest {
  @RegisterExtension static final RedisServer server = RedisServer.ephemeral();

  private static final Duration SHORT = Duration.ofMillis(50);
  private static TestRedis raw;
  private final List<RedisBackend> backends = new CopyOnWriteArrayList<>();

  @BeforeAll
  static void connect() {
    raw = new TestRedis(server.url());
  }

  @AfterAll
  static void disconnect() {
    raw.close();
  }

  @AfterEach
  void closeBackends() {
    backends.forEach(RedisBackend::close);
  }

  private RedisBackendConfig.Builder config(String stream) {
    return RedisBackendConfig.builder()
        .url(server.url())
        .stream(stream)
        .consumer("c1")
        .blockTime(SHORT)
        .commandTimeout(Duration.ofSeconds(10));
  }

  private RedisBackend backend(RedisBackendConfig config) {
    RedisBackend b = RedisBackend.create(config);
    backends.add(b);
    return b;
  }

  private static Event work(int i) {
    return Event.of("WORK", Map.of("i", i));
  }

  @Test
  void theDeadLetterStreamIsCappedWhenAsked() throws Exception {
    String stream = TestRedis.uniqueStream("capped");
    RedisBackend b = backend(config(stream).deadLetterMaxLength(5).build());
    List<Event> events = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      events.add(work(i));
    }
    b.enqueueAll(events);
    for (Delivery d : drainWithoutAck(b, 20)) {
      b.nack(d, "no");
    }
    Instant now = Instant.now();
    b.deadLetters().add(new io.necrostack.core.DeadLetter(work(100), "given up", "organ",
        "E", "m", 1, now, now));

    assertThat(raw.sync().xlen(stream + ":dlq")).isEqualTo(5);
    assertThat(b.metrics().deadLettered()).isEqualTo(20);
    assertThat(b.deadLetters().list(10)).last()
        .satisfies(letter -> assertThat(letter.reason()).isEqualTo("given up"));
    RedisBackend uncapped = backend(config(TestRedis.uniqueStream("uncapped")).build());
    assertThat(uncapped.config().deadLetterMaxLength()).isZero();
  }

  private static List<Delivery> drainWithoutAck(RedisBackend b, int n)
      throws InterruptedException {
    List<Delivery> all = new ArrayList<>();
    while (all.size() < n) {
      all.addAll(b.pull(n - all.size(), SHORT));
    }
    return all;
  }

  @Test
  void theSettleScriptAcksEveryEntryOfAHugeBatchSoOutputsAreWrittenOnce() throws Exception {
    // Lua's unpack stops near 8,000 values: one XACK of 9,000 ids would fail after the XADDs,
    // leaving outputs written for entries still pending, and written again by the retry.
    String stream = TestRedis.uniqueStream("settle");
    RedisBackend b = backend(config(stream).build());
    int n = 9_000;
    List<Event> inputs = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      inputs.add(work(i));
    }
    b.enqueueAll(inputs);
    List<StreamMessage<String, String>> read = raw.sync().xreadgroup(
        Consumer.from("necrostack", "c1"), XReadArgs.Builder.count(n),
        XReadArgs.StreamOffset.lastConsumed(stream));
    List<String> args = new ArrayList<>(List.of("necrostack", "c1", "0",
        read.get(0).getId(), read.get(n - 1).getId()));
    for (StreamMessage<String, String> m : read) {
      args.addAll(List.of(m.getId(), "1", "2", "event", Event.of("DONE").toJson()));
    }
    List<Object> results;
    try (RedisConnections redis = new RedisConnections(b.config())) {
      results = redis.eval(Scripts.SETTLE_MANY, ScriptOutputType.MULTI,
          new String[] {stream}, args.toArray(new String[0]));
    }

    assertThat(results).hasSize(n).containsOnly(1L);
    assertThat(raw.sync().xpending(stream, "necrostack").getCount()).isZero();
    assertThat(raw.sync().xlen(stream)).isEqualTo(2L * n);
  }

  @Test
  void theLargestBatchIsSettledWithItsOutputsWrittenOnce() throws Exception {
    String stream = TestRedis.uniqueStream("largest");
    int n = RedisBackendConfig.MAX_BATCH_SIZE;
    RedisBackend b = backend(config(stream).batchSize(n).build());
    List<Event> inputs = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      inputs.add(work(i));
    }
    b.enqueueAll(inputs);

    List<Delivery> got = drainWithoutAck(b, n);
    for (Delivery d : got) {
      b.commit(d, List.of(Event.of("DONE", Map.of("i", d.event().payload().get("i")))));
    }
    b.flush();

    assertThat(raw.sync().xpending(stream, "necrostack").getCount()).isZero();
    Set<Object> outputs = raw.sync().xrange(stream, io.lettuce.core.Range.create("-", "+"))
        .stream().map(m -> Event.fromJson(m.getBody().get("event")))
        .filter(e -> e.eventType().equals("DONE")).map(e -> e.payload().get("i"))
        .collect(Collectors.toSet());
    assertThat(outputs).hasSize(n);
    assertThat(raw.sync().xlen(stream)).isEqualTo(2L * n);
  }
}
