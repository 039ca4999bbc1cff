package io.necrostack.redis;

import io.necrostack.testing.RedisServer;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lettuce.core.Range;
import io.lettuce.core.StreamMessage;
import io.necrostack.backend.BackendHealth;
import io.necrostack.backend.Delivery;
import io.necrostack.core.Event;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import tools.jackson.core.type.TypeReference;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** The Redis backend against a real, private redis-server. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RedisBackendTest {
  @RegisterExtension static final RedisServer server = RedisServer.ephemeral();

  private static final JsonMapper JSON = JsonMapper.builder().build();
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
        .blockTime(SHORT)
        .commandTimeout(Duration.ofSeconds(5));
  }

  private RedisBackend backend(RedisBackendConfig config) {
    RedisBackend b = RedisBackend.create(config);
    backends.add(b);
    return b;
  }

  private RedisBackend backend(String stream, String consumer) {
    return backend(config(stream).consumer(consumer).build());
  }

  /** Pulls until at least {@code n} deliveries arrived (bounded by the test timeout). */
  private static List<Delivery> pullAtLeast(RedisBackend b, int n) throws InterruptedException {
    List<Delivery> all = new ArrayList<>();
    while (all.size() < n) {
      all.addAll(b.pull(n - all.size(), SHORT));
    }
    return all;
  }

  private static List<Map<String, Object>> fixture(String name) throws IOException {
    try (InputStream in = RedisBackendTest.class.getResourceAsStream(
        "/fixtures/python-necrostack/" + name)) {
      String text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      List<Map<String, Object>> out = new ArrayList<>();
      for (String line : text.split("\n")) {
        if (!line.isBlank()) {
          out.add(JSON.readValue(line, new TypeReference<Map<String, Object>>() {}));
        }
      }
      return out;
    }
  }

  // ------------------------------------------------------------- wire format

  @Test
  @SuppressWarnings("unchecked")
  void consumesEntriesWrittenByThePythonOriginal() throws Exception {
    String stream = TestRedis.uniqueStream("python");
    List<Map<String, Object>> entries = fixture("stream-entries.jsonl");
    List<String> expectedIds = new ArrayList<>();
    for (Map<String, Object> entry : entries) {
      Map<String, String> fields = (Map<String, String>) entry.get("fields");
      raw.sync().xadd(stream, fields);
      expectedIds.add((String) JSON.readValue(fields.get("event"), Map.class).get("id"));
    }
    RedisBackend b = backend(stream, "c1");

    List<Delivery> got = pullAtLeast(b, entries.size());

    assertThat(got).extracting(d -> d.event().id().toString())
        .containsExactlyElementsOf(expectedIds);
    assertThat(got).extracting(Delivery::deliveryCount).containsOnly(1);
    Event order = got.get(1).event();
    assertThat(order.eventType()).isEqualTo("ORDER_PLACED");
    assertThat(order.payload()).containsEntry("order_id", "12345").containsEntry("express", true);
    assertThat(got.get(3).event().payload().get("emoji")).isEqualTo("\uD83D\uDC7B");
    b.ackAll(got);
    assertThat(raw.sync().xpending(stream, "necrostack").getCount()).isZero();
    assertThat(raw.sync().xlen(stream + ":dlq")).isZero();
  }

  @Test
  void writesTheEventFieldAsTheFourFieldJsonAndMetadataBesideIt() throws Exception {
    String stream = TestRedis.uniqueStream("shape");
    RedisBackend b = backend(stream, "c1");
    Event event = Event.of("GREET", Map.of("name", "NecroStack"))
        .withMetadata(Map.of(Event.CORRELATION_ID, "corr-1", Event.CAUSATION_ID, "cause-1",
            Event.DEPTH, "2", "trace", "abc"));

    b.enqueue(event);

    List<StreamMessage<String, String>> written = raw.sync().xrange(stream, Range.create("-", "+"));
    assertThat(written).hasSize(1);
    Map<String, String> body = written.get(0).getBody();
    assertThat(body).containsOnlyKeys("event", "correlation_id", "causation_id", "depth",
        "meta.trace");
    assertThat(body.get("event")).isEqualTo(event.toJson());
    JsonNode json = JSON.readTree(body.get("event"));
    assertThat(json.propertyNames()).containsExactlyInAnyOrder("id", "timestamp", "event_type",
        "payload");
    // And it reads back with its metadata.
    Delivery d = pullAtLeast(b, 1).get(0);
    assertThat(d.event()).isEqualTo(event);
  }

  @Test
  @SuppressWarnings("unchecked")
  void deadLettersHaveThePythonFieldsAndMore() throws Exception {
    String stream = TestRedis.uniqueStream("dlqshape");
    RedisBackend b = backend(stream, "c1");
    b.enqueue(Event.of("GREET", Map.of("name", "NecroStack")).withMetadata("trace", "t1"));
    Delivery d = pullAtLeast(b, 1).get(0);

    b.nack(d, "Processing failed");

    List<StreamMessage<String, String>> dlq = raw.sync().xrange(stream + ":dlq",
        Range.create("-", "+"));
    assertThat(dlq).hasSize(1);
    Map<String, String> fields = dlq.get(0).getBody();
    Map<String, String> python = (Map<String, String>) fixture("dlq-entries.jsonl").get(0)
        .get("fields");
    assertThat(fields).containsKeys(python.keySet().toArray(new String[0]));
    assertThat(fields).containsEntry("original_id", d.deliveryId())
        .containsEntry("event", d.event().toJson())
        .containsEntry("reason", "Processing failed")
        .containsEntry("delivery_count", "1")
        .containsEntry("stream", stream)
        .containsEntry("group", "necrostack")
        .containsEntry("consumer", "c1")
        .containsEntry("meta.trace", "t1");
    assertThat(fields.get("failed_at"))
        .matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{6}\\+00:00");
    assertThat(raw.sync().xpending(stream, "necrostack").getCount()).isZero();
    assertThat(b.metrics().deadLettered()).isEqualTo(1);
  }

  @Test
  void enqueueAllSplitsLongListsAndKeepsTheirOrder() throws Exception {
    String stream = TestRedis.uniqueStream("chunks");
    RedisBackend b = backend(config(stream).consumer("c1").batchSize(3).build());
    List<Event> events = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      events.add(Event.of("N", Map.of("i", i)));
    }

    b.enqueueAll(events);

    assertThat(pullAtLeast(b, 10)).extracting(Delivery::event).containsExactlyElementsOf(events);
    assertThat(b.metrics().enqueued()).isEqualTo(10);
  }

  @Test
  @SuppressWarnings("unchecked")
  void eventsThePythonOriginalRejectsAreDeadLetteredAndTheOthersDelivered() throws Exception {
    String stream = TestRedis.uniqueStream("validation");
    List<Map<String, Object>> cases = fixture("validation-cases.jsonl");
    int accepted = 0;
    for (Map<String, Object> c : cases) {
      raw.sync().xadd(stream, Map.of("event", JSON.writeValueAsString(c.get("input"))));
      if (Boolean.TRUE.equals(c.get("python_accepts"))) {
        accepted++;
      }
    }
    RedisBackend b = backend(stream, "c1");

    List<Delivery> got = new ArrayList<>();
    int rejected = cases.size() - accepted;
    int expected = accepted;
    await().atMost(Duration.ofSeconds(10)).until(() -> {
      got.addAll(b.pull(50, SHORT));
      return b.deadLetters().count() == rejected && got.size() == expected;
    });

    assertThat(b.deadLetters().list(100)).allSatisfy(l ->
        assertThat(l.reason()).startsWith("malformed entry: "));
    b.ackAll(got);
    assertThat(raw.sync().xpending(stream, "necrostack").getCount()).isZero();
  }

  @Test
  @SuppressWarnings("unchecked")
  void deadLettersWrittenByThePythonOriginalCanBeListedAndReplayed() throws Exception {
    String stream = TestRedis.uniqueStream("pydlq");
    Map<String, String> fields = (Map<String, String>) fixture("dlq-entries.jsonl").get(0)
        .get("fields");
    raw.sync().xadd(stream + ":dlq", fields);
    RedisBackend b = backend(stream, "c1");

    DeadLetter letter = b.deadLetters().list(10).get(0);
    assertThat(letter.reason()).isEqualTo("Processing failed");
    assertThat(letter.failedAt()).isEqualTo(fields.get("failed_at"));
    assertThat(letter.deliveryCount()).isEmpty();
    Event event = letter.event().orElseThrow();
    assertThat(event.eventType()).isEqualTo("GREET");

    assertThat(b.deadLetters().replay()).isEqualTo(1);
    assertThat(pullAtLeast(b, 1)).extracting(Delivery::event).containsExactly(event);
    assertThat(b.deadLetters().count()).isZero();
  }

  @Test
  void pendingEntriesDeletedFromTheStreamAreCountedAsLostAndLeaveThePendingList()
      throws Exception {
    String stream = TestRedis.uniqueStream("deleted");
    RedisBackend b = backend(config(stream).consumer("c1")
        .claimIdleTime(Duration.ofMillis(100))
        .claimInterval(Duration.ofMillis(20))
        .build());
    b.enqueueAll(List.of(Event.of("KEEP"), Event.of("GONE")));
    List<Delivery> got = pullAtLeast(b, 2);
    raw.sync().xdel(stream, got.get(1).deliveryId()); // XDEL leaves it in the pending list
    b.release(got); // given back: no longer renewed, so both are claimed in one round

    List<Delivery> again = new ArrayList<>();
    await().atMost(Duration.ofSeconds(10)).until(() -> {
      again.addAll(b.pull(10, SHORT));
      return b.metrics().lostEntries() == 1;
    });

    assertThat(again).extracting(d -> d.event().eventType()).containsOnly("KEEP");
    b.ackAll(again);
    assertThat(raw.sync().xpending(stream, "necrostack").getCount()).isZero();
  }

  @Test
  void maxLengthTrimsTheStreamApproximately() {
    String stream = TestRedis.uniqueStream("trim");
    RedisBackend b = backend(config(stream).consumer("c1").maxLength(100).build());
    List<Event> events = new ArrayList<>();
    for (int i = 0; i < 2000; i++) {
      events.add(Event.of("N"));
    }

    b.enqueueAll(events);

    assertThat(raw.sync().xlen(stream)).isBetween(100L, 300L);
  }

  // ------------------------------------------------------------- malformed

  @Test
  void malformedEntriesAreDeadLetteredWithReasonsAndGoodOnesAroundThemHandled()
      throws Exception {
    String stream = TestRedis.uniqueStream("malformed");
    Event first = Event.of("GOOD", Map.of("n", 1));
    Event last = Event.of("GOOD", Map.of("n", 2));
    raw.sync().xadd(stream, Map.of("event", first.toJson()));
    raw.sync().xadd(stream, Map.of("foo", "bar"));
    raw.sync().xadd(stream, Map.of("event", "{not json"));
    raw.sync().xadd(stream, Map.of("event", "{\"event_type\": \"  \", \"payload\": {}}"));
    raw.sync().xadd(stream, Map.of("event",
        "{\"event_type\": \"X\", \"payload\": {}, \"extra_field\": 1}"));
    raw.sync().xadd(stream, Map.of("event", last.toJson()));
    RedisBackend b = backend(stream, "c1");

    List<Delivery> got = pullAtLeast(b, 2);

    assertThat(got).extracting(Delivery::event).containsExactly(first, last);
    RedisDeadLetters dead = b.deadLetters();
    assertThat(dead.count()).isEqualTo(4);
    List<DeadLetter> letters = dead.list(10);
    assertThat(letters.get(0).reason()).contains("no 'event' field").contains("foo");
    assertThat(letters.get(0).fields()).containsEntry("entry", "{\"foo\":\"bar\"}");
    assertThat(letters.get(1).reason()).contains("invalid event");
    assertThat(letters.get(2).reason()).contains("event_type");
    assertThat(letters.get(3).reason()).contains("extra_field");
    assertThat(letters).allSatisfy(l -> assertThat(l.event()).isEmpty());
    b.ackAll(got);
    assertThat(raw.sync().xpending(stream, "necrostack").getCount()).isZero();
  }

  // ------------------------------------------------------------- groups

  @Test
  void twoConsumersInOneGroupShareTheWorkEachEventOnce() throws Exception {
    String stream = TestRedis.uniqueStream("share");
    RedisBackend a = backend(stream, "a");
    RedisBackend b = backend(stream, "b");
    List<Event> events = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      events.add(Event.of("WORK", Map.of("i", i)));
    }
    a.enqueueAll(events);

    List<Event> byA = new ArrayList<>();
    List<Event> byB = new ArrayList<>();
    while (byA.size() + byB.size() < events.size()) {
      for (Delivery d : a.pull(7, SHORT)) {
        byA.add(d.event());
        a.ack(d);
      }
      for (Delivery d : b.pull(7, SHORT)) {
        byB.add(d.event());
        b.ack(d);
      }
    }

    assertThat(byA).isNotEmpty();
    assertThat(byB).isNotEmpty();
    List<Event> all = new ArrayList<>(byA);
    all.addAll(byB);
    assertThat(all).containsExactlyInAnyOrderElementsOf(events);
    assertThat(a.pull(10, SHORT)).isEmpty();
    assertThat(b.pull(10, SHORT)).isEmpty();
  }

  @Test
  void entriesPendingAtADeadConsumerAreClaimedByAnother() throws Exception {
    String stream = TestRedis.uniqueStream("claim");
    RedisBackendConfig.Builder cfg = config(stream)
        .claimIdleTime(Duration.ofMillis(200))
        .claimInterval(Duration.ofMillis(50));
    RedisBackend dying = backend(cfg.consumer("dying").build());
    RedisBackend survivor = backend(cfg.consumer("survivor").build());
    dying.enqueueAll(List.of(Event.of("A"), Event.of("B"), Event.of("C")));
    List<Delivery> taken = pullAtLeast(dying, 3);
    dying.close(); // dies without settling

    List<Delivery> claimed = new ArrayList<>();
    await().atMost(Duration.ofSeconds(10)).until(() -> {
      claimed.addAll(survivor.pull(10, SHORT));
      return claimed.size() >= 3;
    });

    assertThat(claimed).extracting(Delivery::event)
        .containsExactlyElementsOf(taken.stream().map(Delivery::event).toList());
    assertThat(claimed).extracting(Delivery::deliveryCount).containsOnly(2);
    assertThat(survivor.metrics().reclaimed()).isEqualTo(3);
    survivor.ackAll(claimed);
    assertThat(raw.sync().xpending(stream, "necrostack").getCount()).isZero();
  }

  @Test
  void ownPendingEntriesFromAPreviousLifeAreDeliveredAgainOneByOneAfterRestart()
      throws Exception {
    String stream = TestRedis.uniqueStream("ownpending");
    RedisBackendConfig cfg = config(stream).consumer("stable").build(); // claim idle 30 s
    RedisBackend first = backend(cfg);
    first.enqueueAll(List.of(Event.of("A"), Event.of("B")));
    List<Delivery> taken = pullAtLeast(first, 2);
    first.close();

    RedisBackend second = backend(cfg);
    // One per pull, so that a crash-inducing entry does not raise its batch mates' counts.
    List<Delivery> again = new ArrayList<>(second.pull(10, SHORT));
    assertThat(again).hasSize(1);
    again.addAll(second.pull(10, SHORT));

    assertThat(again).extracting(Delivery::event)
        .containsExactlyElementsOf(taken.stream().map(Delivery::event).toList());
    assertThat(again).extracting(Delivery::deliveryCount).containsOnly(2);
  }

  @Test
  void aRestartWhoseFirstOwnPendingEntryIsGoneDeliversEveryEntryOnce() throws Exception {
    String stream = TestRedis.uniqueStream("ownpending-gone");
    RedisBackendConfig cfg = config(stream).consumer("stable").batchSize(4).build();
    RedisBackend first = backend(cfg);
    first.enqueueAll(List.of(Event.of("P"), Event.of("Q")));
    List<Delivery> taken = pullAtLeast(first, 2);
    first.close();
    raw.sync().xdel(stream, taken.get(0).deliveryId()); // P: pending, but gone from the stream
    List<Event> more = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      more.add(Event.of("NEW", Map.of("i", i)));
    }
    RedisBackend second = backend(cfg); // read ahead, like the first
    second.enqueueAll(more);

    // Drain, holding everything unsettled like a Spine with events in flight.
    List<Delivery> got = new ArrayList<>();
    int idlePulls = 0;
    while (idlePulls < 3) {
      List<Delivery> batch = second.pull(4, SHORT);
      got.addAll(batch);
      idlePulls = batch.isEmpty() ? idlePulls + 1 : 0;
    }

    assertThat(got).extracting(Delivery::deliveryId).doesNotHaveDuplicates();
    assertThat(got).extracting(d -> d.event().eventType()).filteredOn("Q"::equals).hasSize(1);
    assertThat(got).hasSize(21);
    assertThat(second.metrics().lostEntries()).isEqualTo(1);
    second.ackAll(got);
    assertThat(raw.sync().xpending(stream, "necrostack").getCount()).isZero();
  }

  @Test
  void entriesHeldLongerThanTheClaimIdleTimeAreRenewedAndNotClaimedByAnother()
      throws Exception {
    String stream = TestRedis.uniqueStream("held");
    RedisBackendConfig.Builder cfg = config(stream).batchSize(2)
        .claimIdleTime(Duration.ofMillis(200))
        .claimInterval(Duration.ofMillis(20));
    RedisBackend holder = backend(cfg.consumer("holder").build());
    RedisBackend other = backend(cfg.consumer("other").build());
    holder.enqueueAll(List.of(Event.of("A"), Event.of("B"), Event.of("C"), Event.of("D")));
    List<Delivery> batch = holder.pull(2, SHORT); // A, B; C and D read ahead
    assertThat(batch).hasSize(2);
    await().atMost(Duration.ofSeconds(5))
        .until(() -> raw.sync().xpending(stream, "necrostack").getCount() == 4);
    holder.handlingStarted(batch.get(0), Duration.ofSeconds(10)); // a long handling of A

    // Several claim idle times: the other consumer's claim rounds find nothing idle.
    List<Delivery> stolen = new CopyOnWriteArrayList<>();
    await().during(Duration.ofMillis(1000)).atMost(Duration.ofSeconds(5)).until(() -> {
      stolen.addAll(other.pull(10, SHORT));
      return stolen.isEmpty();
    });

    holder.ackAll(batch);
    List<Delivery> rest = holder.pull(2, SHORT);
    assertThat(rest).extracting(d -> d.event().eventType()).containsExactly("C", "D");
    assertThat(rest).extracting(Delivery::deliveryCount).containsOnly(1);
    holder.ackAll(rest);
    assertThat(other.metrics().reclaimed()).isZero();
    assertThat(raw.sync().xpending(stream, "necrostack").getCount()).isZero();
  }

  @Test
  void anEntryDeletedWhileHeldStaysPendingAndItsCommitStillWritesItsOutput()
      throws Exception {
    String stream = TestRedis.uniqueStream("held-deleted");
    RedisBackend b = backend(config(stream).consumer("c1")
        .claimIdleTime(Duration.ofMillis(100)).build());
    b.enqueue(Event.of("IN"));
    Delivery d = pullAtLeast(b, 1).get(0);
    b.handlingStarted(d, Duration.ofSeconds(10));
    raw.sync().xdel(stream, d.deliveryId());

    // Renewals run meanwhile; XCLAIM would drop a deleted entry from the pending list.
    await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(5))
        .until(() -> raw.sync().xpending(stream, "necrostack").getCount() == 1);

    assertThat(b.tryCommit(d, List.of(Event.of("OUT")))).isTrue();
    assertThat(raw.sync().xrange(stream, Range.create("-", "+")))
        .extracting(m -> Event.fromJson(m.getBody().get("event")).eventType())
        .containsExactly("OUT");
  }

  @Test
  void anEntryDeliveredMoreThanMaxDeliveriesIsDeadLettered() throws Exception {
    String stream = TestRedis.uniqueStream("poison");
    RedisBackend b = backend(config(stream).consumer("c1")
        .maxDeliveries(2)
        .claimIdleTime(Duration.ofMillis(100))
        .claimInterval(Duration.ofMillis(20))
        .build());
    Event poison = Event.of("POISON");
    b.enqueue(poison);

    // Never settled: delivered once by the read, once more by a claim, then dead-lettered.
    List<Integer> counts = new ArrayList<>();
    await().atMost(Duration.ofSeconds(10)).until(() -> {
      for (Delivery d : b.pull(10, SHORT)) {
        counts.add(d.deliveryCount());
      }
      return b.deadLetters().count() == 1;
    });

    assertThat(counts).containsExactly(1, 2);
    DeadLetter letter = b.deadLetters().list(1).get(0);
    assertThat(letter.reason()).contains("exceeded max deliveries").contains("3 > 2");
    assertThat(letter.event()).contains(poison);
    assertThat(letter.deliveryCount()).contains(3);
    assertThat(raw.sync().xpending(stream, "necrostack").getCount()).isZero();
  }

  // ------------------------------------------------------------- commit

  @Test
  void commitWritesEmittedEventsAndAcksInOneStep() throws Exception {
    String stream = TestRedis.uniqueStream("commit");
    RedisBackend b = backend(stream, "c1");
    b.enqueue(Event.of("IN"));
    Delivery d = pullAtLeast(b, 1).get(0);
    Event out1 = Event.of("OUT", Map.of("n", 1)).withMetadata(Event.CAUSATION_ID, "x");
    Event out2 = Event.of("OUT", Map.of("n", 2));

    assertThat(b.tryCommit(d, List.of(out1, out2))).isTrue();

    assertThat(raw.sync().xpending(stream, "necrostack").getCount()).isZero();
    List<Delivery> next = pullAtLeast(b, 2);
    assertThat(next).extracting(Delivery::event).containsExactly(out1, out2);
    assertThat(b.metrics().enqueued()).isEqualTo(3);
  }

  @Test
  void aFencedCommitRefusesAnEntryClaimedByAnotherConsumer() throws Exception {
    String stream = TestRedis.uniqueStream("fence");
    RedisBackendConfig.Builder cfg = config(stream)
        .claimIdleTime(Duration.ofMillis(100))
        .claimInterval(Duration.ofMillis(20));
    RedisBackend slow = backend(cfg.consumer("slow").build());
    RedisBackend fast = backend(cfg.consumer("fast").build());
    slow.enqueue(Event.of("IN"));
    Delivery slowDelivery = pullAtLeast(slow, 1).get(0);
    slow.handlingStarted(slowDelivery, Duration.ofMillis(1)); // then stuck: its lease lapses
    List<Delivery> claimed = new ArrayList<>();
    await().atMost(Duration.ofSeconds(10)).until(() -> {
      claimed.addAll(fast.pull(1, SHORT));
      return !claimed.isEmpty();
    });

    boolean slowCommitted = slow.tryCommit(slowDelivery, List.of(Event.of("OUT_SLOW")));
    boolean fastCommitted = fast.tryCommit(claimed.get(0), List.of(Event.of("OUT_FAST")));

    assertThat(slowCommitted).isFalse();
    assertThat(fastCommitted).isTrue();
    List<String> types = raw.sync().xrange(stream, Range.create("-", "+")).stream()
        .map(m -> m.getBody().get("event"))
        .map(json -> Event.fromJson(json).eventType())
        .toList();
    assertThat(types).containsExactly("IN", "OUT_FAST");
    assertThat(slow.metrics().fencedCommits()).isEqualTo(1);
    // The plain commit of the Backend contract does not throw when fenced.
    slow.commit(slowDelivery, List.of(Event.of("OUT_SLOW")));
    assertThat(raw.sync().xlen(stream)).isEqualTo(2);
  }

  @Test
  void bufferedSettlesAreSentAtTheNextPullAndFencedThere() throws Exception {
    String stream = TestRedis.uniqueStream("buffered");
    RedisBackendConfig.Builder cfg = config(stream)
        .claimIdleTime(Duration.ofMillis(100))
        .claimInterval(Duration.ofMillis(20));
    RedisBackend slow = backend(cfg.consumer("slow").build());
    RedisBackend fast = backend(cfg.consumer("fast").build());
    slow.enqueueAll(List.of(Event.of("IN1"), Event.of("IN2")));
    List<Delivery> slowDeliveries = pullAtLeast(slow, 2);
    List<Delivery> claimed = new ArrayList<>();
    await().atMost(Duration.ofSeconds(10)).until(() -> {
      claimed.addAll(fast.pull(2, SHORT));
      return claimed.size() == 2;
    });
    fast.commit(claimed.get(0), List.of(Event.of("OUT_FAST")));
    fast.ack(claimed.get(1));
    assertThat(raw.sync().xlen(stream)).as("buffered, not sent yet").isEqualTo(2);

    slow.commit(slowDeliveries.get(0), List.of(Event.of("OUT_SLOW")));
    slow.ack(slowDeliveries.get(1));
    slow.flush();
    // A pull sends fast's buffered settles before reading: it then reads their output.
    List<Delivery> outputs = pullAtLeast(fast, 1);
    assertThat(outputs.get(0).event().eventType()).isEqualTo("OUT_FAST");
    fast.ack(outputs.get(0));
    fast.flush();

    List<String> types = raw.sync().xrange(stream, Range.create("-", "+")).stream()
        .map(m -> Event.fromJson(m.getBody().get("event")).eventType())
        .toList();
    assertThat(raw.sync().xpending(stream, "necrostack").getCount()).isZero();
    assertThat(raw.sync().xrange(stream, Range.create("-", "+")).stream()
        .map(m -> Event.fromJson(m.getBody().get("event")).eventType()).toList())
        .containsExactly("IN1", "IN2", "OUT_FAST");
    assertThat(types).doesNotContain("OUT_SLOW");
    assertThat(slow.metrics().fencedCommits()).isEqualTo(2);
    assertThat(fast.metrics().acked()).isEqualTo(3);
  }

  @Test
  void withoutBatchingEverySettleIsDoneBeforeItReturns() throws Exception {
    String stream = TestRedis.uniqueStream("unbatched");
    RedisBackend b = backend(config(stream).consumer("c1").batchSettles(false).build());
    b.enqueueAll(List.of(Event.of("A"), Event.of("B")));
    List<Delivery> got = pullAtLeast(b, 2);

    b.ack(got.get(0));
    b.commit(got.get(1), List.of(Event.of("C")));

    assertThat(raw.sync().xpending(stream, "necrostack").getCount()).isZero();
    assertThat(raw.sync().xlen(stream)).isEqualTo(3);
  }

  @Test
  void retryLaterRedeliversTheEventAfterTheDelayWithoutBlockingOthers() throws Exception {
    String stream = TestRedis.uniqueStream("delayed");
    RedisBackend b = backend(config(stream).consumer("c1")
        .delayedPollInterval(Duration.ofMillis(20)).build());
    Event unicode = Event.of("LATER", Map.of("text", "S\u00e9ance \uD83D\uDC7B \u2603"))
        .withMetadata(Map.of(Event.CORRELATION_ID, "corr", "trace", "t"));
    b.enqueueAll(List.of(unicode, Event.of("NOW")));
    Delivery later = pullAtLeast(b, 1).get(0);
    long scheduledAt = System.nanoTime();

    assertThat(b.retryLater(later, Duration.ofMillis(300))).isTrue();

    assertThat(raw.sync().zcard(stream + ":delayed")).isEqualTo(1);
    Delivery now = pullAtLeast(b, 1).get(0);
    assertThat(now.event().eventType()).isEqualTo("NOW");
    b.ack(now);
    Delivery again = pullAtLeast(b, 1).get(0);
    assertThat(System.nanoTime() - scheduledAt).isGreaterThanOrEqualTo(
        TimeUnit.MILLISECONDS.toNanos(300));
    assertThat(again.event()).isEqualTo(unicode);
    assertThat(again.deliveryCount()).isEqualTo(1);
    assertThat(raw.sync().zcard(stream + ":delayed")).isZero();
    b.ack(again);
    b.flush();
    assertThat(raw.sync().xpending(stream, "necrostack").getCount()).isZero();
    // Fenced: a delivery no longer pending here is not scheduled.
    assertThat(b.retryLater(again, Duration.ZERO)).isFalse();
  }

  // ------------------------------------------------------------- recovery

  @Test
  void afterFlushAllTheGroupIsRecreatedAndConsumptionContinues() throws Exception {
    String stream = TestRedis.uniqueStream("flush");
    RedisBackend b = backend(stream, "c1");
    b.enqueue(Event.of("BEFORE"));
    b.ack(pullAtLeast(b, 1).get(0));

    raw.sync().flushall();
    Event after = Event.of("AFTER");
    raw.sync().xadd(stream, WireFormat.fields(after)); // a producer recreates the stream only

    List<Delivery> got = new ArrayList<>();
    await().atMost(Duration.ofSeconds(10)).until(() -> {
      try {
        got.addAll(b.pull(10, SHORT));
      } catch (RuntimeException e) {
        // the pull that meets NOGROUP may fail; the next one reads again
      }
      return !got.isEmpty();
    });
    assertThat(got).extracting(Delivery::event).containsExactly(after);
    b.ack(got.get(0));
    b.flush();
    assertThat(raw.sync().xpending(stream, "necrostack").getCount()).isZero();
  }

  @Test
  void afterTheGroupIsDestroyedItIsRecreatedAndUnhandledEntriesAreRead() throws Exception {
    String stream = TestRedis.uniqueStream("destroy");
    RedisBackend b = backend(stream, "c1");
    b.enqueue(Event.of("ONE"));
    Delivery one = pullAtLeast(b, 1).get(0);

    raw.sync().xgroupDestroy(stream, "necrostack");
    // The commit finds no group: refused, nothing emitted, and the group comes back.
    assertThat(b.tryCommit(one, List.of(Event.of("TWO")))).isFalse();

    List<Delivery> again = pullAtLeast(b, 1);
    assertThat(again).extracting(Delivery::event).containsExactly(one.event());
    assertThat(b.tryCommit(again.get(0), List.of(Event.of("TWO")))).isTrue();
    assertThat(pullAtLeast(b, 1).get(0).event().eventType()).isEqualTo("TWO");
  }

  @Test
  void scriptsAreReloadedAfterTheServerForgetsThem() throws Exception {
    String stream = TestRedis.uniqueStream("noscript");
    RedisBackend b = backend(stream, "c1");
    b.enqueue(Event.of("A"));
    Delivery a = pullAtLeast(b, 1).get(0);

    raw.sync().scriptFlush();
    b.commit(a, List.of(Event.of("B")));   // buffered: sent by the pull, meets NOSCRIPT
    Delivery next = pullAtLeast(b, 1).get(0);
    raw.sync().scriptFlush();
    assertThat(b.tryCommit(next, List.of())).isTrue();
    raw.sync().scriptFlush();
    b.enqueue(Event.of("C"));

    assertThat(next.event().eventType()).isEqualTo("B");
    assertThat(pullAtLeast(b, 1).get(0).event().eventType()).isEqualTo("C");
    assertThat(b.metrics().fencedCommits()).isZero();
  }

  @Test
  void aFullSettleBufferIsSentAtOnceAndRecoversFromNoScript() throws Exception {
    String stream = TestRedis.uniqueStream("fullbuffer");
    // No read-ahead: a read sent ahead may reach Redis after the commits below and hold B1
    // and B2 pending, which would look like a settle that did not go through.
    RedisBackend b = backend(config(stream).consumer("c1").batchSize(2).readAhead(false).build());
    b.enqueueAll(List.of(Event.of("A1"), Event.of("A2"), Event.of("A3"), Event.of("A4")));
    List<Delivery> got = pullAtLeast(b, 2);
    got.addAll(pullAtLeast(b, 2));

    b.commit(got.get(0), List.of(Event.of("B1")));
    b.commit(got.get(1), List.of(Event.of("B2"))); // full: sent without waiting
    await().atMost(Duration.ofSeconds(5)).until(() -> raw.sync().xlen(stream) == 6);
    raw.sync().scriptFlush();
    b.ack(got.get(2));
    b.ack(got.get(3)); // full again: the async run meets NOSCRIPT and is re-run
    b.flush();

    assertThat(raw.sync().xpending(stream, "necrostack").getCount()).isZero();
    assertThat(pullAtLeast(b, 2)).extracting(d -> d.event().eventType())
        .containsExactly("B1", "B2");
    assertThat(b.metrics().acked()).isEqualTo(4);
    assertThat(b.metrics().fencedCommits()).isZero();
  }

  // ------------------------------------------------------------- tools and health

  @Test
  void deadLetterToolsListCountReplayByTypeAndPurge() throws Exception {
    String stream = TestRedis.uniqueStream("tools");
    RedisBackend b = backend(stream, "c1");
    Event a1 = Event.of("A", Map.of("n", 1)).withMetadata(Event.CORRELATION_ID, "corr");
    Event b1 = Event.of("B");
    Event a2 = Event.of("A", Map.of("n", 2));
    b.enqueueAll(List.of(a1, b1, a2));
    for (Delivery d : pullAtLeast(b, 3)) {
      b.nack(d, "failed " + d.event().eventType());
    }
    RedisDeadLetters dead = b.deadLetters();
    assertThat(dead.count()).isEqualTo(3);
    assertThat(dead.list(10)).extracting(DeadLetter::reason)
        .containsExactly("failed A", "failed B", "failed A");

    assertThat(dead.replayType("A")).isEqualTo(2);

    assertThat(dead.count()).isEqualTo(1);
    List<Delivery> replayed = pullAtLeast(b, 2);
    assertThat(replayed).extracting(Delivery::event).containsExactly(a1, a2);
    assertThat(replayed.get(0).event().correlationId()).contains("corr");
    assertThat(dead.purge()).isEqualTo(1);
    assertThat(dead.count()).isZero();
  }

  @Test
  void healthReportsLatencyLengthLagPendingAndDeadLetters() throws Exception {
    String stream = TestRedis.uniqueStream("health");
    // Exact pending and lag counts: no entries read ahead of the pulls.
    RedisBackend b = backend(config(stream).consumer("c1").readAhead(false).build());
    b.enqueueAll(List.of(Event.of("A"), Event.of("B"), Event.of("C")));
    Delivery d = b.pull(1, SHORT).get(0);
    b.nack(d, "bad");
    b.pull(1, SHORT);

    BackendHealth health = b.health();

    assertThat(health.up()).isTrue();
    assertThat(health.details())
        .containsEntry("stream_length", 3L)
        .containsEntry("group_lag", 1L)
        .containsEntry("pending", 1L)
        .containsEntry("dead_letters", 1L)
        .containsEntry("pulled", 2L)
        .containsEntry("enqueued", 3L)
        .containsKey("ping_ms");
    b.close();
    assertThat(b.health().up()).isFalse();
  }

  @Test
  void aFullBatchReadsTheNextAheadAndHandsItOutInOrder() throws Exception {
    String stream = TestRedis.uniqueStream("ahead");
    RedisBackend b = backend(stream, "c1");
    List<Event> events = new ArrayList<>();
    for (int i = 0; i < 7; i++) {
      events.add(Event.of("E", Map.of("i", i)));
    }
    b.enqueueAll(events);

    List<Delivery> first = b.pull(3, SHORT); // a full batch: the next 3 are read ahead
    await().atMost(Duration.ofSeconds(10)).until(
        () -> raw.sync().xpending(stream, "necrostack").getCount() == 6);
    List<Delivery> second = b.pull(2, SHORT); // asks for fewer than were read ahead
    List<Delivery> rest = pullAtLeast(b, 2);

    List<Delivery> all = new ArrayList<>(first);
    all.addAll(second);
    all.addAll(rest);
    assertThat(first).hasSize(3);
    assertThat(second).hasSize(2);
    assertThat(all).extracting(Delivery::event).containsExactlyElementsOf(events);
    for (Delivery d : all) {
      b.ack(d);
    }
    b.flush();
    assertThat(raw.sync().xpending(stream, "necrostack").getCount()).isZero();
  }

  @Test
  void aShortBatchReadsNothingAhead() throws Exception {
    String stream = TestRedis.uniqueStream("ahead-short");
    RedisBackend b = backend(stream, "c1");
    b.enqueueAll(List.of(Event.of("A"), Event.of("B")));

    assertThat(b.pull(2, SHORT)).hasSize(2); // full: a read ahead is sent, without BLOCK
    b.enqueue(Event.of("C")); // the read ahead may or may not have found it: either way
    assertThat(b.pull(5, SHORT)).extracting(d -> d.event().eventType()).containsExactly("C");
    b.enqueue(Event.of("D")); // that batch was short: nothing was read ahead to take D

    assertThat(raw.sync().xpending(stream, "necrostack").getCount()).isEqualTo(3);
  }

  @Test
  void withoutReadAheadOnlyPullsDeliver() throws Exception {
    String stream = TestRedis.uniqueStream("no-ahead");
    RedisBackend b = backend(config(stream).consumer("c1").readAhead(false).build());
    b.enqueueAll(List.of(Event.of("A"), Event.of("B"), Event.of("C")));

    assertThat(b.pull(1, SHORT)).hasSize(1);
    b.flush();

    assertThat(raw.sync().xpending(stream, "necrostack").getCount()).isEqualTo(1);
  }

  @Test
  void idleConsumersAreRemovedOnlyWhenNothingIsPending() throws Exception {
    String stream = TestRedis.uniqueStream("cleanup");
    // No read-ahead: it would give one consumer two entries, renewed while it holds them.
    RedisBackendConfig.Builder cfg = config(stream).readAhead(false);
    RedisBackend self = backend(cfg.consumer("self").build());
    RedisBackend idle = backend(cfg.consumer("idle").build());
    RedisBackend busy = backend(cfg.consumer("busy").build());
    self.enqueueAll(List.of(Event.of("A"), Event.of("B"), Event.of("C")));
    pullAtLeast(busy, 1); // busy now holds a pending entry
    idle.ackAll(pullAtLeast(idle, 1)); // idle handled one: known to the group, nothing pending
    self.ackAll(pullAtLeast(self, 1));

    List<String> removed = self.removeIdleConsumers(Duration.ZERO);

    assertThat(removed).containsExactly("idle");
    List<String> left = raw.sync().xinfoConsumers(stream, "necrostack").stream()
        .map(c -> String.valueOf(((List<?>) c).get(1)))
        .toList();
    assertThat(left).containsExactlyInAnyOrder("self", "busy");
    assertThat(self.removeIdleConsumers(Duration.ofHours(1))).isEmpty();
  }

  @Test
  void closeWakesABlockedPullWhichReturnsEmpty() throws Exception {
    RedisBackend b = backend(config(TestRedis.uniqueStream("wake")).consumer("c1")
        .blockTime(Duration.ofSeconds(3)).build());
    java.util.concurrent.CompletableFuture<List<Delivery>> pulled =
        java.util.concurrent.CompletableFuture.supplyAsync(() -> {
          try {
            return b.pull(1, Duration.ofSeconds(20));
          } catch (InterruptedException e) {
            throw new IllegalStateException(e);
          }
        });
    await().atMost(Duration.ofSeconds(5)).until(
        () -> raw.sync().clientList().contains("cmd=xreadgroup"));

    b.close();

    assertThat(pulled.get(10, TimeUnit.SECONDS)).isEmpty();
  }

  @Test
  void closeMakesFurtherCallsFailAndIsIdempotent() {
    RedisBackend b = backend(TestRedis.uniqueStream("close"), "c1");
    b.close();
    b.close();
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> b.enqueue(Event.of("X")))
        .isInstanceOf(IllegalStateException.class);
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> b.pull(1, SHORT))
        .isInstanceOf(IllegalStateException.class);
  }
}
