package io.necrostack.redis;

import static org.assertj.core.api.Assertions.assertThat;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.Consumer;
import io.lettuce.core.Range;
import io.lettuce.core.RedisClient;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.StreamMessage;
import io.lettuce.core.XReadArgs;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.protocol.CommandArgs;
import io.lettuce.core.protocol.CommandType;
import io.lettuce.core.protocol.ProtocolVersion;
import io.necrostack.backend.Delivery;
import io.necrostack.core.Event;
import io.necrostack.testing.RedisServer;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
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
 * What bounds a read: entries over the read limits are dead-lettered by the server without
 * their bodies reaching the client, a read keeps its byte budget, the dead-letter stream can
 * be capped, and no script is handed more values than Lua can unpack (issue #13, sections 1,
 * 6 and 8).
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

  /** Adds an entry built by a script on the server, so a large one costs this JVM nothing. */
  private static String xadd(String stream, String body, String... args) {
    return raw.sync().eval("return redis.call('XADD', KEYS[1], '*', " + body + ")",
        ScriptOutputType.VALUE, new String[] {stream}, args);
  }

  /**
   * Pulls and acks until {@code n} deliveries arrived (bounded by the test's timeout), then
   * checks that nothing more comes.
   */
  private static List<Delivery> drain(RedisBackend b, int n) throws InterruptedException {
    List<Delivery> all = new ArrayList<>();
    while (all.size() < n) {
      List<Delivery> got = b.pull(n - all.size(), SHORT);
      all.addAll(got);
      got.forEach(b::ack);
    }
    assertThat(b.pull(n, SHORT)).isEmpty();
    return all;
  }

  private static Map<String, Map<String, String>> deadLetters(String stream) {
    Map<String, Map<String, String>> byOriginalId = new LinkedHashMap<>();
    for (StreamMessage<String, String> m :
        raw.sync().xrange(stream + ":dlq", Range.create("-", "+"))) {
      byOriginalId.put(m.getBody().get("original_id"), m.getBody());
    }
    return byOriginalId;
  }

  private static Event work(int i) {
    return Event.of("WORK", Map.of("i", i));
  }

  @Test
  void entriesOverTheLimitsAreDeadLetteredOnTheServerAndTheirNeighboursHandled()
      throws Exception {
    String stream = TestRedis.uniqueStream("oversize");
    RedisBackend b = backend(config(stream).build());
    Map<String, String> expected = new LinkedHashMap<>();
    b.enqueue(work(0));
    String hugeEvent = xadd(stream, "'event', string.rep('x', 5 * 1024 * 1024)");
    expected.put(hugeEvent, "event field is 5242880 bytes, over the limit of 1048576");
    b.enqueue(work(1));
    String manyFields = raw.sync().eval(
        "local f = {} for i = 1, 2000 do f[#f + 1] = 'f' .. i f[#f + 1] = 'v' end"
            + " return redis.call('XADD', KEYS[1], '*', unpack(f))",
        ScriptOutputType.VALUE, new String[] {stream});
    expected.put(manyFields, "entry has 2000 fields, over the limit of 1024");
    b.enqueue(work(2));
    String event = work(99).toJson();
    String bigEntry = xadd(stream, "'event', ARGV[1], 'blob', string.rep('b', 1200000)", event);
    expected.put(bigEntry, "entry is " + (5 + event.length() + 4 + 1_200_000)
        + " bytes, over the limit of 1179648");
    b.enqueue(work(3));
    String noEvent = xadd(stream, "'junk', string.rep('j', 3000000)");
    expected.put(noEvent, "entry is 3000004 bytes, over the limit of 1179648");
    b.enqueue(work(4));

    List<Delivery> got = drain(b, 5);
    b.flush();

    assertThat(got).extracting(d -> d.event().payload().get("i")).containsExactly(0, 1, 2, 3, 4);
    Map<String, Map<String, String>> letters = deadLetters(stream);
    assertThat(letters.keySet()).containsExactlyElementsOf(expected.keySet());
    expected.forEach((id, reason) -> {
      Map<String, String> letter = letters.get(id);
      assertThat(letter.get("reason")).as(id).isEqualTo(reason);
      assertThat(letter.get("error_class")).isEqualTo("EntryTooLarge");
      assertThat(letter.get("delivery_count")).isEqualTo("1");
      assertThat(letter.get("consumer")).isEqualTo("c1");
    });
    Map<String, String> huge = letters.get(hugeEvent);
    assertThat(huge.get("event")).hasSize(WireFormat.DEAD_LETTER_PREFIX_BYTES).matches("x+");
    assertThat(huge.get("original_size")).isEqualTo(Integer.toString(5 + 5 * 1024 * 1024));
    assertThat(huge.get("original_fields")).isEqualTo("1");
    assertThat(letters.get(bigEntry).get("event")).isEqualTo(event);
    assertThat(letters.get(manyFields).get("original_fields")).isEqualTo("2000");
    Map<String, String> junk = letters.get(noEvent);
    assertThat(junk.get("event")).isEmpty();
    assertThat(junk.get("entry_prefix")).hasSize(WireFormat.DEAD_LETTER_PREFIX_BYTES)
        .startsWith("{\"junk\":\"jjj");
    assertThat(b.metrics().deadLettered()).isEqualTo(4);
    assertThat(raw.sync().xpending(stream, "necrostack").getCount()).as("pending").isZero();
    // Only the entry whose event field was within the limits can be replayed: its event.
    assertThat(b.deadLetters().list(10)).extracting(letter -> letter.event().isPresent())
        .containsExactly(false, false, true, false);
  }

  @Test
  void entriesWithinTheSizeLimitsButBadMetadataAreMalformedDeadLetters() throws Exception {
    String stream = TestRedis.uniqueStream("metadata");
    RedisBackend b = backend(config(stream).build());
    Map<String, String> fields = new LinkedHashMap<>();
    fields.put("event", work(7).toJson());
    for (int i = 0; i < 1_001; i++) {
      fields.put("meta.k" + i, "v");
    }
    String tooMany = raw.sync().xadd(stream, fields);
    Map<String, String> atLimit = new HashMap<>();
    for (int i = 0; i < Event.MAX_METADATA_KEYS; i++) {
      atLimit.put("k" + i, "v");
    }
    b.enqueue(work(8).withMetadata(atLimit));

    List<Delivery> got = drain(b, 1);
    b.flush();

    assertThat(got).singleElement().satisfies(d -> {
      assertThat(d.event().payload()).containsEntry("i", 8);
      assertThat(d.event().metadata()).hasSize(1_000);
    });
    assertThat(deadLetters(stream).get(tooMany).get("reason"))
        .isEqualTo("malformed entry: invalid event: metadata: has 1001 keys, over the limit of"
            + " 1000");
  }

  @Test
  void aReadKeepsItsByteBudgetAndReadsWhatItHeldBackLaterOnce() throws Exception {
    String stream = TestRedis.uniqueStream("budget");
    RedisBackend b = backend(config(stream).maxReadBytes(64 * 1024).build());
    String blob = "y".repeat(30_000); // each entry is a little over 30,000 bytes
    List<Event> events = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      events.add(Event.of("WORK", Map.of("i", i, "blob", blob)));
    }
    b.enqueueAll(events);

    List<Integer> sizes = new ArrayList<>();
    List<Delivery> all = new ArrayList<>();
    while (all.size() < 10) {
      List<Delivery> got = b.pull(10, SHORT);
      sizes.add(got.size());
      all.addAll(got);
      got.forEach(b::ack);
    }
    b.flush();

    assertThat(sizes).allSatisfy(n -> assertThat(n).isBetween(1, 2));
    assertThat(all).extracting(d -> d.event().payload().get("i"))
        .containsExactly(0, 1, 2, 3, 4, 5, 6, 7, 8, 9);
    assertThat(all).extracting(Delivery::deliveryCount).containsOnly(1);
    assertThat(raw.sync().xpending(stream, "necrostack").getCount()).isZero();
    assertThat(b.pull(10, SHORT)).isEmpty();
  }

  @Test
  void aHeldBackEntryDeletedMeanwhileIsCountedLost() throws Exception {
    String stream = TestRedis.uniqueStream("held");
    RedisBackend b = backend(config(stream).maxReadBytes(64 * 1024).build());
    String blob = "y".repeat(40_000);
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      ids.add(raw.sync().xadd(stream, Map.of("event",
          Event.of("WORK", Map.of("i", i, "blob", blob)).toJson())));
    }

    List<Delivery> first = b.pull(3, SHORT); // delivers all three, keeps one
    raw.sync().xdel(stream, ids.get(1));
    List<Delivery> rest = drain(b, 1);

    assertThat(first).extracting(Delivery::deliveryId).containsExactly(ids.get(0));
    assertThat(rest).extracting(Delivery::deliveryId).containsExactly(ids.get(2));
    assertThat(b.metrics().lostEntries()).isEqualTo(1);
    first.forEach(b::ack);
    b.flush();
    assertThat(raw.sync().xpending(stream, "necrostack").getCount()).isZero();
  }

  @Test
  void aClaimedEntryOverTheLimitsIsDeadLetteredWithoutItsBody() throws Exception {
    String stream = TestRedis.uniqueStream("claimed");
    RedisBackend b = backend(config(stream).consumer("claimer")
        .claimIdleTime(Duration.ofMillis(1)).claimInterval(Duration.ofMillis(1)).build());
    String id = xadd(stream, "'event', string.rep('z', 3 * 1024 * 1024)");
    // Another consumer took it and died: its delivery count is 1, idle past the claim time.
    raw.sync().xreadgroup(Consumer.from("necrostack", "dead"),
        XReadArgs.Builder.count(1), XReadArgs.StreamOffset.lastConsumed(stream));
    b.enqueue(work(1));

    List<Delivery> got = new ArrayList<>();
    while (deadLetters(stream).isEmpty() || got.isEmpty()) {
      got.addAll(b.pull(4, SHORT));
    }

    assertThat(got).extracting(d -> d.event().payload().get("i")).containsExactly(1);
    Map<String, String> letter = deadLetters(stream).get(id);
    assertThat(letter.get("reason"))
        .isEqualTo("event field is 3145728 bytes, over the limit of 1048576");
    assertThat(letter.get("delivery_count")).isEqualTo("2");
    assertThat(letter.get("event")).hasSize(WireFormat.DEAD_LETTER_PREFIX_BYTES);
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
    for (int i = 0; i < 4; i++) {
      xadd(stream, "'event', string.rep('x', 2000000)");
    }
    b.enqueue(work(20));
    drain(b, 1);
    Instant now = Instant.now();
    b.deadLetters().add(new io.necrostack.core.DeadLetter(work(100), "given up", "organ",
        "E", "m", 1, now, now));

    assertThat(raw.sync().xlen(stream + ":dlq")).isEqualTo(5);
    assertThat(b.metrics().deadLettered()).isEqualTo(24);
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
  void delayedMembersThisBackendCannotHaveWrittenAreDeadLetteredNotDropped() throws Exception {
    String stream = TestRedis.uniqueStream("delayed");
    RedisBackend b = backend(config(stream).delayedPollInterval(Duration.ofMillis(1)).build());
    String delayed = b.config().delayedKey();
    String good = WireFormat.delayedMember("1-1", work(1));
    raw.sync().zadd(delayed, 0, good);
    raw.sync().zadd(delayed, 0, "not json at all");
    raw.sync().zadd(delayed, 0, "{\"id\":\"2-2\",\"fields\":[\"event\"]}");
    raw.sync().eval("local f = {} for i = 1, 3000 do f[#f + 1] = '\"f' .. i .. '\",\"v\"' end"
            + " return redis.call('ZADD', KEYS[1], 0, '{\"id\":\"3-3\",\"fields\":['"
            + " .. table.concat(f, ',') .. ']}')",
        ScriptOutputType.INTEGER, new String[] {delayed});
    raw.sync().eval("return redis.call('ZADD', KEYS[1], 0, '{\"id\":\"4-4\",\"fields\":[\"x\",\"'"
            + " .. string.rep('x', 8000000) .. '\"]}')",
        ScriptOutputType.INTEGER, new String[] {delayed});

    // A pull moves at most as many due members as it may return.
    List<Delivery> got = new ArrayList<>();
    while (raw.sync().zcard(delayed) > 0 || got.isEmpty()) {
      got.addAll(b.pull(1, SHORT));
    }

    assertThat(got).extracting(d -> d.event().payload().get("i")).containsExactly(1);
    List<String> reasons = raw.sync()
        .xrange(stream + ":dlq", Range.create("-", "+")).stream()
        .map(m -> m.getBody().get("reason")).toList();
    assertThat(reasons).containsExactlyInAnyOrder(
        "delayed member is not JSON of an id and an even list of fields",
        "delayed member is not JSON of an id and an even list of fields",
        "entry has 3000 fields, over the limit of 1024",
        "delayed member is 8000030 bytes, over the limit of " + (6 * 1_179_648 + 4096));
    assertThat(b.metrics().deadLettered()).isEqualTo(4);
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
    Set<Object> outputs = raw.sync().xrange(stream, Range.create("-", "+"))
        .stream().map(m -> Event.fromJson(m.getBody().get("event")))
        .filter(e -> e.eventType().equals("DONE")).map(e -> e.payload().get("i"))
        .collect(Collectors.toSet());
    assertThat(outputs).hasSize(n);
    assertThat(raw.sync().xlen(stream)).isEqualTo(2L * n);
  }

  @Test
  void theBoundedOutputReadsResp2AndResp3Alike() {
    String stream = TestRedis.uniqueStream("resp");
    raw.sync().xgroupCreate(XReadArgs.StreamOffset.from(stream, "0"), "g",
        io.lettuce.core.XGroupCreateArgs.Builder.mkstream(true));
    String small = raw.sync().xadd(stream, Map.of("event", "{}", "meta.k", "v"));
    String big = xadd(stream, "'event', string.rep('x', 2000000)");
    String last = raw.sync().xadd(stream, Map.of("event", "{\"last\":1}"));
    for (ProtocolVersion version : ProtocolVersion.values()) {
      RedisClient client = RedisClient.create(server.url());
      client.setOptions(ClientOptions.builder().protocolVersion(version).build());
      try (StatefulRedisConnection<String, String> c = client.connect()) {
        raw.sync().xgroupSetid(XReadArgs.StreamOffset.from(stream, "0"), "g");
        CommandArgs<String, String> args = new CommandArgs<>(StringCodec.UTF8).add("GROUP")
            .add("g").add("reader").add("COUNT").add(10).add("STREAMS").addKey(stream).add(">");
        List<BoundedEntryOutput.Entry> entries = c.sync().dispatch(CommandType.XREADGROUP,
            new BoundedEntryOutput(true, 1024 * 1024, true), args);
        assertThat(entries).as(version.name()).extracting(BoundedEntryOutput.Entry::id)
            .containsExactly(small, big, last);
        assertThat(entries.get(0).fields()).containsOnly(Map.entry("event", "{}"),
            Map.entry("meta.k", "v"));
        assertThat(entries.get(1).kind()).isEqualTo(BoundedEntryOutput.Kind.OVERSIZE);
        assertThat(entries.get(1).bytes()).isEqualTo(2_000_005);
        assertThat(entries.get(2).fields()).containsEntry("event", "{\"last\":1}");
        List<BoundedEntryOutput.Entry> held = c.sync().dispatch(CommandType.XRANGE,
            new BoundedEntryOutput(false, 20, true), new CommandArgs<>(StringCodec.UTF8)
                .addKey(stream).add("-").add("+"));
        assertThat(held).extracting(BoundedEntryOutput.Entry::kind).containsExactly(
            BoundedEntryOutput.Kind.KEPT, BoundedEntryOutput.Kind.OVERSIZE,
            BoundedEntryOutput.Kind.HELD);
      } finally {
        client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
      }
    }
  }
}
