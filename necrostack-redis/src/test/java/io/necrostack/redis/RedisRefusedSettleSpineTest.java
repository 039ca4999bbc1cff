package io.necrostack.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lettuce.core.Range;
import io.lettuce.core.StreamMessage;
import io.necrostack.core.DeadLetter;
import io.necrostack.core.EmitFailurePolicy;
import io.necrostack.core.Event;
import io.necrostack.core.InMemoryDeadLetters;
import io.necrostack.core.Organ;
import io.necrostack.core.RetryPolicy;
import io.necrostack.core.Spine;
import io.necrostack.core.SpineStats;
import io.necrostack.testing.RedisServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A Spine on Redis with batched settles while Redis refuses writes (out of memory): each
 * refused settle reaches the emit-failure policy of its own event, so RETRY writes each output
 * once and DEAD_LETTER dead-letters exactly the outputs that were not written.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class RedisRefusedSettleSpineTest {
  @RegisterExtension static final RedisServer server = RedisServer.ephemeral();
  private static final int N = 60;

  private final TestRedis raw = new TestRedis(server.url());

  @AfterEach
  void resetMemory() {
    raw.sync().configSet("maxmemory", "0");
    raw.close();
  }

  /** Per input i, how many DONE entries the stream holds. */
  private Map<Integer, Integer> outputs(String stream) {
    Map<Integer, Integer> count = new HashMap<>();
    for (StreamMessage<String, String> m : raw.sync().xrange(stream, Range.create("-", "+"))) {
      Event e = Event.fromJson(m.getBody().get("event"));
      if (e.eventType().equals("DONE")) {
        count.merge(((Number) e.payload().get("i")).intValue(), 1, Integer::sum);
      }
    }
    return count;
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"RETRY", "DEAD_LETTER"})
  void eachRefusedSettleReachesItsOwnEventsPolicy(String mode) throws Exception {
    String stream = TestRedis.uniqueStream("refused-" + mode);
    RedisBackend backend = RedisBackend.create(RedisBackendConfig.builder()
        .url(server.url()).stream(stream).consumer("c").batchSize(16)
        .blockTime(Duration.ofMillis(50)).build());
    List<Event> inputs = new ArrayList<>();
    for (int i = 0; i < N; i++) {
      inputs.add(Event.of("WORK", Map.of("i", i)));
    }
    backend.enqueueAll(inputs);
    CountDownLatch atTen = new CountDownLatch(1);
    CountDownLatch go = new CountDownLatch(1);
    Organ work = Organ.on("WORK", e -> {
      int i = ((Number) e.payload().get("i")).intValue();
      if (i == 10) {
        atTen.countDown();
        go.await(30, TimeUnit.SECONDS); // Redis starts refusing writes meanwhile
      }
      return Event.of("DONE", Map.of("i", i));
    });
    InMemoryDeadLetters letters = new InMemoryDeadLetters();
    EmitFailurePolicy policy = mode.equals("RETRY")
        ? EmitFailurePolicy.retry(RetryPolicy.exponentialBackoff(1_000, Duration.ofMillis(20),
            Duration.ofMillis(100)))
        : EmitFailurePolicy.DEAD_LETTER;
    Spine spine = Spine.builder().organs(work).backend(backend).ownsBackend(true)
        .emitFailurePolicy(policy).deadLetters(letters) // the Redis DLQ would be refused too
        .pollTimeout(Duration.ofMillis(50)).build();

    CompletableFuture<SpineStats> running = spine.start();
    assertThat(atTen.await(30, TimeUnit.SECONDS)).isTrue();
    raw.sync().configSet("maxmemory", "1");
    go.countDown();
    await().atMost(Duration.ofSeconds(30))
        .until(() -> spine.stats().retried() > 0 || spine.stats().deadLettered() > 0);
    raw.sync().configSet("maxmemory", "0");
    // Every input settled: nothing pending, the last DONEs written (or dead-lettered).
    await().atMost(Duration.ofSeconds(30)).until(() -> outputs(stream).size() + letters.count()
        >= N && raw.sync().xpending(stream, "necrostack").getCount() == 0);
    spine.close();
    running.get(30, TimeUnit.SECONDS);

    Map<Integer, Integer> written = outputs(stream);
    Map<Integer, Integer> deadLettered = new HashMap<>();
    for (DeadLetter l : letters.list()) {
      deadLettered.merge(((Number) l.event().payload().get("i")).intValue(), 1, Integer::sum);
    }
    assertThat(written.values()).as("no output written twice").allMatch(c -> c == 1);
    assertThat(deadLettered.values()).as("no output dead-lettered twice").allMatch(c -> c == 1);
    java.util.Set<Integer> both = new java.util.HashSet<>(written.keySet());
    both.retainAll(deadLettered.keySet());
    assertThat(both).as("written or dead-lettered, never both").isEmpty();
    assertThat(written.size() + deadLettered.size()).as("none lost").isEqualTo(N);
    assertThat(backend.metrics().refusedSettles()).isPositive();
    if (mode.equals("RETRY")) {
      assertThat(deadLettered).isEmpty();
    } else {
      assertThat(deadLettered).isNotEmpty();
    }
  }
}
