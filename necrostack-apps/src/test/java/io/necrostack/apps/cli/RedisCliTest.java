package io.necrostack.apps.cli;

import io.necrostack.testing.RedisServer;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lettuce.core.Range;
import io.lettuce.core.RedisClient;
import io.lettuce.core.StreamMessage;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.necrostack.apps.cli.CliTest.Run;
import io.necrostack.apps.run.ChainRunner;
import io.necrostack.apps.run.ChainTimeoutException;
import io.necrostack.apps.run.RunOptions;
import io.necrostack.apps.seance.SeanceRequest;
import io.necrostack.backend.Delivery;
import io.necrostack.core.Emission;
import io.necrostack.core.Event;
import io.necrostack.core.Organ;
import io.necrostack.core.Spine;
import io.necrostack.core.SpineStats;
import io.necrostack.redis.RedisBackend;
import io.necrostack.redis.RedisBackendConfig;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The apps and the Redis commands against a real Redis: a {@code redis-server} this class
 * starts on a free loopback port, never a shared one.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RedisCliTest {
  @RegisterExtension static final RedisServer server = RedisServer.ephemeral();

  private static RedisClient client;
  private static StatefulRedisConnection<String, String> connection;

  @BeforeAll
  static void connect() {
    client = RedisClient.create(server.url());
    connection = client.connect();
  }

  @AfterAll
  static void disconnect() {
    connection.close();
    client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
  }

  private static RedisCommands<String, String> redis() {
    return connection.sync();
  }

  private static String uniqueStream(String name) {
    return "test:" + name + ":" + UUID.randomUUID().toString().substring(0, 8);
  }

  // ------------------------------------------------------------------ apps on Redis

  @Test
  void seanceThroughRedisPrintsExactlyWhatMemoryPrints() {
    Run run = Run.of("seance", "--seed", "7", "--backend", server.url());

    assertThat(run.err()).isEmpty();
    assertThat(run.code()).isZero();
    assertThat(run.out())
        .isEqualTo(CliTest.seance(new SeanceRequest(null, null, null, OptionalLong.of(7))))
        .contains("Old Man Haskell");
    assertThat(redis().keys("necrostack:seance:*"))
        .as("the run's own stream is deleted when it ends")
        .isEmpty();
  }

  @Test
  void seanceOnAGivenStreamLeavesTheExactEventSequenceThere() {
    String stream = uniqueStream("seance");

    Run run = Run.of("seance", "--seed", "11", "--spirit", "Aunt Mildred", "--backend",
        server.url(), "--stream", stream, "--group", "mediums");

    assertThat(run.code()).isZero();
    assertThat(run.out()).isEqualTo(CliTest.seance(
        new SeanceRequest("Aunt Mildred", null, null, OptionalLong.of(11))));
    List<String> types = new ArrayList<>();
    for (StreamMessage<String, String> m : redis().xrange(stream, Range.create("-", "+"))) {
      types.add(Event.fromJson(m.getBody().get("event")).eventType());
    }
    assertThat(types).containsExactly(
        "SUMMON_RITUAL", "SPIRIT_APPEARED", "ANSWER_GENERATED", "OMEN_REVEALED");
    assertThat(redis().xinfoGroups(stream).toString()).contains("mediums");
  }

  @Test
  void etlThroughRedisPrintsTheSameSummaryAsInMemory() {
    Run memory = Run.of("etl", "--chunk-size", "4");
    Run viaRedis = Run.of("etl", "--chunk-size", "4", "--backend", server.url());

    assertThat(viaRedis.err()).isEmpty();
    assertThat(viaRedis.code()).isZero();
    assertThat(memory.code()).isZero();
    assertThat(viaRedis.out())
        .isEqualTo(memory.out())
        .contains("21 rows read: 19 loaded, 2 rejected (6 chunks)");
  }

  @Test
  void etlOnAGivenStreamLeavesEveryChunksEventsThere() {
    String stream = uniqueStream("etl");

    Run run = Run.of("etl", "--chunk-size", "4", "--backend", server.url(), "--stream", stream);

    assertThat(run.code()).isZero();
    Map<String, Integer> counts = new java.util.TreeMap<>();
    List<String> types = new ArrayList<>();
    for (StreamMessage<String, String> m : redis().xrange(stream, Range.create("-", "+"))) {
      String type = Event.fromJson(m.getBody().get("event")).eventType();
      types.add(type);
      counts.merge(type, 1, Integer::sum);
    }
    // 21 rows in chunks of 4: 6 chunks, each asking for the next but the last.
    assertThat(counts).containsExactlyEntriesOf(new java.util.TreeMap<>(Map.of(
        "DATA_CLEANED", 6, "DATA_TRANSFORMED", 6, "ETL_NEXT_CHUNK", 5, "ETL_START", 1,
        "RAW_DATA_LOADED", 6)));
    assertThat(types.get(0)).isEqualTo("ETL_START");
    assertThat(types.get(types.size() - 1)).isEqualTo("DATA_TRANSFORMED");
  }

  @Test
  void anUnreachableRedisFailsTheSeanceWithoutShowingThePassword() throws IOException {
    String url = "redis://:hunter2secret@127.0.0.1:" + RedisServer.freePort();

    Run run = Run.of("seance", "--seed", "1", "--backend", url);

    assertThat(run.code()).isEqualTo(1);
    assertThat(run.out()).isEmpty();
    assertThat(run.err())
        .startsWith("necrostack seance: cannot connect to Redis at redis://***@127.0.0.1:")
        .doesNotContain("hunter2secret");
  }

  @Test
  void aTlsUrlIsAcceptedAndAnUnreachableOneIsAFailureNotAUsageError() throws IOException {
    String url = "REDISS://necro:hunter2secret@127.0.0.1:" + RedisServer.freePort();

    Run run = Run.of("etl", "--backend", url);

    assertThat(run.code()).isEqualTo(1);
    assertThat(run.err())
        .startsWith("necrostack etl: cannot connect to Redis at rediss://necro:***@127.0.0.1:")
        .doesNotContain("hunter2secret");
  }

  @Test
  void aMalformedRedisUrlIsAUsageErrorWithoutThePassword() {
    Run run = Run.of("etl", "--backend", "redis://user:hunter2secret@");

    assertThat(run.code()).isEqualTo(2);
    assertThat(run.err()).contains("invalid Redis URL").doesNotContain("hunter2secret");
  }

  @Test
  void streamAndGroupWithTheMemoryBackendAreAUsageError() {
    Run run = Run.of("seance", "--stream", "mine");

    assertThat(run.code()).isEqualTo(2);
    assertThat(run.err()).contains("--stream and --group apply to a Redis backend only");
  }

  // ------------------------------------------------------------------ dlq, health, stats

  @Test
  void dlqListShowsEachDeadLetterWithItsTypeAndReason() throws InterruptedException {
    String stream = uniqueStream("dlq-list");
    deadLetter(stream, "the spirit would not speak", event("SPIRIT_APPEARED"),
        event("OMEN_REVEALED"));

    Run run = Run.of("dlq", "list", "--redis", server.url(), "--stream", stream);

    assertThat(run.code()).isZero();
    assertThat(run.err()).isEmpty();
    String[] lines = run.out().split("\n");
    assertThat(lines[0]).isEqualTo(
        "2 dead letters in " + stream + ":dlq (" + server.url() + "), oldest first:");
    assertThat(lines[2]).startsWith("  ID").contains("EVENT TYPE", "FAILED AT", "REASON");
    assertThat(lines[3]).contains("SPIRIT_APPEARED", "the spirit would not speak");
    assertThat(lines[4]).contains("OMEN_REVEALED", "the spirit would not speak");
    assertThat(lines).hasSize(5);
  }

  @Test
  void dlqListOnAnEmptyStreamSaysSo() {
    String stream = uniqueStream("dlq-empty");

    Run run = Run.of("dlq", "list", "--redis", server.url(), "--stream", stream);

    assertThat(run.code()).isZero();
    assertThat(run.out()).isEqualTo(
        "No dead letters in " + stream + ":dlq (" + server.url() + ").\n");
  }

  @Test
  void dlqReplayOfOneTypeWritesItBackAndKeepsTheOthers() throws InterruptedException {
    String stream = uniqueStream("dlq-replay");
    deadLetter(stream, "boom", event("SPIRIT_APPEARED"), event("OMEN_REVEALED"),
        event("SPIRIT_APPEARED"));
    long before = redis().xlen(stream);

    Run run = Run.of("dlq", "replay", "--type", "SPIRIT_APPEARED", "--redis", server.url(),
        "--stream", stream);

    assertThat(run.code()).isZero();
    assertThat(run.out()).isEqualTo("Replayed 2 dead letters of type SPIRIT_APPEARED to "
        + stream + " (" + server.url() + "); 1 left in " + stream + ":dlq.\n");
    assertThat(redis().xlen(stream)).isEqualTo(before + 2);
    assertThat(redis().xlen(stream + ":dlq")).isEqualTo(1);

    Run all = Run.of("dlq", "replay", "--redis", server.url(), "--stream", stream);

    assertThat(all.code()).isZero();
    assertThat(all.out()).startsWith("Replayed 1 dead letter to ");
    assertThat(redis().xlen(stream + ":dlq")).isZero();
  }

  @Test
  void dlqPurgeDeletesEveryDeadLetter() throws InterruptedException {
    String stream = uniqueStream("dlq-purge");
    deadLetter(stream, "boom", event("A"), event("B"), event("C"));

    Run run = Run.of("dlq", "purge", "--redis", server.url(), "--stream", stream);

    assertThat(run.code()).isZero();
    assertThat(run.out()).isEqualTo(
        "Purged 3 dead letters from " + stream + ":dlq (" + server.url() + ").\n");
    assertThat(redis().xlen(stream + ":dlq")).isZero();
  }

  @Test
  void healthReportsTheStreamsFigures() throws InterruptedException {
    String stream = uniqueStream("health");
    deadLetter(stream, "boom", event("A"));
    redis().xadd(stream, Map.of("event", event("B").toJson()));

    Run run = Run.of("health", "--redis", server.url(), "--stream", stream);

    assertThat(run.code()).isZero();
    assertThat(run.out())
        .startsWith("Redis " + server.url() + " is up (ping ")
        .contains("  stream        " + stream + "\n")
        .contains("  group         necrostack\n")
        .contains("  length        2\n")
        .contains("  group lag     1\n")
        .contains("  pending       0\n")
        .contains("  dead letters  1\n");
  }

  @Test
  void statsCountsTheDeadLettersByTypeAndReason() throws InterruptedException {
    String stream = uniqueStream("stats");
    deadLetter(stream, "the candle went out", event("SPIRIT_APPEARED"), event("OMEN_REVEALED"));
    deadLetter(stream, "no answer", event("SPIRIT_APPEARED"));

    Run run = Run.of("stats", "--redis", server.url(), "--stream", stream);

    assertThat(run.code()).isZero();
    assertThat(run.out())
        .startsWith("Stream " + stream + " at " + server.url() + "\n")
        .contains("  entries       3\n")
        .contains("  dead letters  3\n")
        .contains("Dead letters by event type:\n  1  OMEN_REVEALED\n  2  SPIRIT_APPEARED\n")
        .contains("Dead letters by reason:\n  1  no answer\n  2  the candle went out\n");
  }

  @Test
  void theRedisCommandsFailWithExitCode1WhenRedisIsUnreachable() throws IOException {
    String url = "redis://necro:hunter2secret@127.0.0.1:" + RedisServer.freePort();

    for (String[] command : List.of(new String[] {"dlq", "list"}, new String[] {"dlq", "purge"},
        new String[] {"dlq", "replay"}, new String[] {"health"}, new String[] {"stats"})) {
      List<String> args = new ArrayList<>(List.of(command));
      args.addAll(List.of("--redis", url));

      Run run = Run.of(args.toArray(new String[0]));

      assertThat(run.code()).as(args.toString()).isEqualTo(1);
      assertThat(run.out()).isEmpty();
      assertThat(run.err())
          .startsWith("necrostack " + command[command.length - 1]
              + ": cannot connect to Redis at redis://necro:***@127.0.0.1:")
          .doesNotContain("hunter2secret");
    }
  }

  @Test
  void dlqWithoutASubcommandIsAUsageError() {
    Run run = Run.of("dlq");

    assertThat(run.code()).isEqualTo(2);
    assertThat(run.err()).contains("missing command: choose one of [list, replay, purge]");
  }

  // ------------------------------------------------------------------ chain runner on Redis

  @Test
  @Timeout(value = 30, unit = TimeUnit.SECONDS)
  void aChainThatNeverFinishesOnRedisFailsAfterItsTimeout() {
    RedisBackend backend = backend(uniqueStream("stuck"));
    Organ silent = organ("WAIT", event -> Emission.none());
    Spine.Builder builder = Spine.builder().organs(silent).backend(backend);

    try (backend) {
      assertThatThrownBy(() -> ChainRunner.run(builder, backend, Event.of("WAIT"),
          new CompletableFuture<Void>(), new RunOptions(Duration.ofMillis(500),
              io.necrostack.apps.run.SpineHooks.NONE)))
          .isInstanceOf(ChainTimeoutException.class)
          .hasMessage("did not finish within 500 ms (1 event(s) handled, 0 handler error(s))");
    }
  }

  @Test
  @Timeout(value = 30, unit = TimeUnit.SECONDS)
  void aHandlerFailureOnRedisStopsTheRunAtOnce() {
    RedisBackend backend = backend(uniqueStream("failing"));
    Organ failing = organ("BOOM", event -> {
      throw new IllegalStateException("the candle went out");
    });
    Spine.Builder builder = Spine.builder().organs(failing).backend(backend);
    CompletableFuture<Void> finished = new CompletableFuture<>();

    SpineStats stats;
    try (backend) {
      // A timeout far beyond the test's: only the failure can end the run in time.
      stats = ChainRunner.run(builder, backend, Event.of("BOOM"), finished,
          new RunOptions(Duration.ofMinutes(10), io.necrostack.apps.run.SpineHooks.NONE));
    }

    assertThat(finished).isNotDone();
    assertThat(stats.totalHandlerErrors()).isEqualTo(1);
  }

  // ------------------------------------------------------------------ helpers

  private static RedisBackend backend(String stream) {
    return RedisBackend.create(
        RedisBackendConfig.builder().url(server.url()).stream(stream).build());
  }

  private static Organ organ(String type, java.util.function.Function<Event, Emission> body) {
    return new Organ() {
      @Override
      public Set<String> listensTo() {
        return Set.of(type);
      }

      @Override
      public String name() {
        return "test-" + type.toLowerCase(java.util.Locale.ROOT);
      }

      @Override
      public Emission handle(Event event) {
        return body.apply(event);
      }
    };
  }

  /** Dead letters written the way a consumer writes them: pulled, then nacked. */
  static void deadLetter(String stream, String reason, Event... events) throws InterruptedException {
    try (RedisBackend backend = backend(stream)) {
      for (Event e : events) {
        backend.enqueue(e);
      }
      int left = events.length;
      while (left > 0) {
        for (Delivery d : backend.pull(left, Duration.ofSeconds(1))) {
          backend.nack(d, reason);
          left--;
        }
      }
    }
  }

  static Event event(String type) {
    return Event.of(type, Map.of("spirit", "Aunt Mildred"));
  }
}
