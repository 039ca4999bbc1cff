package io.necrostack.faults;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lettuce.core.Range;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.StreamMessage;
import io.necrostack.core.Event;
import io.necrostack.redis.RedisBackend;
import io.necrostack.redis.RedisBackendConfig;
import io.necrostack.testing.RedisServer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Scenario 1b: entries of tens of megabytes, of every shape that hurts a parser, already wait
 * in the stream when a worker JVM with {@code -Xmx256m} starts. It dead-letters each with a
 * reason naming the limit and the size, handles the good events around them, holds a run of
 * valid but heavy events (a megabyte of tiny objects each, thirty times that once parsed)
 * within its read budget, stays up, and leaves nothing pending (issue #13, section 1).
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class HostileEntriesTest {
  @RegisterExtension final Resources toClose = new Resources();
  @TempDir Path dir;

  private static final int MB = 1024 * 1024;
  private static final String OVER = " bytes, over the limit of 1048576";

  /** One hostile event field, built on the server by a Lua expression, of known length. */
  private record Shape(String name, String lua, long length) {
    /** {@code prefix + unit * n + suffix}. */
    static Shape of(String name, String prefix, String unit, int n, String suffix) {
      return new Shape(name, "'" + prefix + "' .. string.rep('" + unit + "', " + n + ") .. '"
          + suffix + "'", prefix.length() + (long) unit.length() * n + suffix.length());
    }
  }

  private static final String JUNK = "{\"event_type\":\"JUNK\",\"payload\":";

  private RedisServer server;
  private String stream;
  private TestRedis redis;
  private RedisBackend producer;

  /** A private Redis, a fresh stream, a raw connection to it and a producer of good events. */
  private void start(String name) throws Exception {
    server = toClose.add(RedisServer.ephemeral().start());
    stream = TestRedis.uniqueStream(name);
    redis = toClose.add(new TestRedis(server.url()));
    producer = toClose.add(RedisBackend.create(RedisBackendConfig.builder()
        .url(server.url()).stream(stream).consumer("producer").build()));
  }

  @Test
  void aWorkerWith256MbDeadLettersEveryHostileEntryAndHandlesTheRest() throws Exception {
    start("hostile");
    List<Shape> oversize = List.of(
        Shape.of("array of tiny objects", JUNK + "{\"a\":[", "{},", 10_000_000, "{}]}}"),
        Shape.of("one huge string", JUNK + "{\"s\":\"", "x", 40 * MB, "\"}}"),
        Shape.of("a huge number", JUNK + "{\"n\":", "9", 20 * MB, "}}"),
        new Shape("very deep nesting", "'" + JUNK + "{\"a\":' .. string.rep('[', 10000000)"
            + " .. string.rep(']', 10000000) .. '}}'", JUNK.length() + 5 + 20_000_000L + 2),
        Shape.of("40 MB #1", JUNK + "{\"s\":\"", "y", 40 * MB, "\"}}"),
        Shape.of("40 MB #2", JUNK + "{\"s\":\"", "y", 40 * MB, "\"}}"),
        Shape.of("40 MB #3", JUNK + "{\"s\":\"", "y", 40 * MB, "\"}}"),
        Shape.of("40 MB #4", JUNK + "{\"s\":\"", "y", 40 * MB, "\"}}"),
        Shape.of("40 MB #5", JUNK + "{\"s\":\"", "y", 40 * MB, "\"}}"));
    Map<String, String> expected = new LinkedHashMap<>(); // entry id -> reason (fragment)
    Map<String, String> kinds = new LinkedHashMap<>(); // entry id -> what it was
    int good = 0;
    producer.enqueue(work(good++));
    for (Shape s : oversize) {
      String id = redis.sync().eval("return redis.call('XADD', KEYS[1], '*', 'event', "
          + s.lua() + ")", ScriptOutputType.VALUE, new String[] {stream});
      expected.put(id, "event field is " + s.length() + OVER);
      kinds.put(id, s.name());
      producer.enqueue(work(good++));
    }
    // Millions of keys, both ways: in the JSON, and as fields of the stream entry itself.
    String keys = redis.sync().eval("local t = {} for i = 1, 2000000 do t[i] = '\"k' .. i"
        + " .. '\":0' end return redis.call('XADD', KEYS[1], '*', 'event', '" + JUNK + "{'"
        + " .. table.concat(t, ',') .. '}}')", ScriptOutputType.VALUE, new String[] {stream});
    expected.put(keys, OVER);
    kinds.put(keys, "2,000,000 JSON keys");
    producer.enqueue(work(good++));
    Map<String, String> fields = new HashMap<>();
    for (int i = 0; i < 1_000_000; i++) {
      fields.put("f" + i, "v");
    }
    String manyFields = redis.sync().xadd(stream, fields);
    fields = null;
    expected.put(manyFields, "entry has 1000000 fields, over the limit of 1024");
    kinds.put(manyFields, "1,000,000 entry fields");
    producer.enqueue(work(good++));
    // Within the size limits, refused by the parser's bounds.
    String deep = redis.sync().xadd(stream, Map.of("event",
        JUNK + "{\"a\":" + "[".repeat(400_000) + "]".repeat(400_000) + "}}"));
    expected.put(deep, "payload: nested deeper than 500 levels");
    kinds.put(deep, "800 KB of nesting");
    producer.enqueue(work(good++));
    String number = redis.sync().xadd(stream, Map.of("event",
        JUNK + "{\"n\":" + "7".repeat(900_000) + "}}"));
    expected.put(number, "exceeds the maximum allowed (1000");
    kinds.put(number, "a 900,000-digit number");
    producer.enqueue(work(good++));
    // Valid and heavy: about a megabyte each of one-key objects, some 30 MB of heap once
    // parsed. Twelve at once would not fit; the read budget takes a few at a time.
    int heavy = 12;
    Shape tiny = Shape.of("valid heavy", JUNK + "{\"a\":[", "{\"a\":0},", 120_000, "{}]}}");
    for (int i = 0; i < heavy; i++) {
      redis.sync().eval("return redis.call('XADD', KEYS[1], '*', 'event', " + tiny.lua() + ")",
          ScriptOutputType.VALUE, new String[] {stream});
    }
    for (int i = 0; i < 20; i++) {
      producer.enqueue(work(good++));
    }
    int goodCount = good;

    WorkerProcess worker = toClose.add(
        WorkerProcess.launch(dir, server.url(), stream, "hostile-1"));
    HandlingLog log;
    try {
      log = HandlingLog.awaitEveryInputHandled(dir, goodCount, Duration.ofSeconds(150));
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      String out = worker.output();
      throw new AssertionError("not every good event was handled; the worker printed:\n"
          + out.substring(Math.max(0, out.length() - 4000)), e);
    }
    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).until(() ->
        redis.sync().xlen(stream + ":dlq") == expected.size()
            && redis.sync().xpending(stream, "necrostack").getCount() == 0);

    assertThat(worker.process().isAlive()).as("worker still up:\n%s", worker.output()).isTrue();
    Map<String, Map<String, String>> letters = new LinkedHashMap<>();
    for (StreamMessage<String, String> m : redis.sync().xrange(stream + ":dlq",
        Range.create("-", "+"))) {
      letters.put(m.getBody().get("original_id"), m.getBody());
    }
    System.out.println("HOSTILE_ENTRIES dead-letter reasons:");
    expected.keySet().forEach(id -> System.out.println("  " + kinds.get(id) + " -> "
        + letters.get(id).get("reason") + " (original_size "
        + letters.get(id).getOrDefault("original_size", "-") + ")"));
    assertThat(letters.keySet()).containsExactlyInAnyOrderElementsOf(expected.keySet());
    expected.forEach((id, reason) ->
        assertThat(letters.get(id).get("reason")).as(kinds.get(id)).contains(reason));
    // Refused before decoding: the dead letter keeps a 64 KiB prefix and the original size.
    letters.values().stream().filter(letter -> letter.containsKey("original_size"))
        .forEach(letter -> {
          assertThat(letter.get("error_class")).isEqualTo("EntryTooLarge");
          assertThat(letter.get("event").length()
              + letter.getOrDefault("entry_prefix", "").length()).isEqualTo(65_536);
        });
    assertThat(log.duplicateHandlings()).isZero();
    String stats = worker.stop();
    assertThat(worker.process().exitValue()).as(worker.output()).isEqualTo(143);
    assertThat(worker.output()).doesNotContain("OutOfMemoryError");
    System.out.println("HOSTILE_ENTRIES refused=" + expected.size() + " valid_heavy=" + heavy
        + " good=" + goodCount + " handled=" + log.distinctHandled(goodCount)
        + " dead_lettered=" + letters.size()
        + " lost=" + (goodCount - log.distinctHandled(goodCount))
        + " pending=0 worker_alive_until_stopped=true");
    System.out.println(stats);
  }

  /**
   * A value larger than the worker's direct memory (Netty's, as large as its heap by default)
   * cannot even be buffered: Lettuce needs a whole value in memory, and the read fails. The
   * worker resets its reader connection (the old one would go on receiving the rest), the
   * next claim round dead-letters the entry on the server, the entries of the failed read are
   * claimed and handled, and later events are read as usual, not claimed one by one.
   */
  @Test
  void aValueTooLargeToBufferCostsOneReadNotTheWorker() throws Exception {
    start("giant");
    producer.enqueue(work(0));
    String giant = redis.sync().eval("return redis.call('XADD', KEYS[1], '*', 'event',"
        + " string.rep('g', 300000000))", ScriptOutputType.VALUE, new String[] {stream});
    for (long i = 1; i < 5; i++) {
      producer.enqueue(work(i));
    }

    WorkerProcess worker = toClose.add(WorkerProcess.launch(dir, server.url(), stream,
        "giant-1", "--claim-idle-ms", "2000", "--claim-interval-ms", "500"));
    HandlingLog.awaitEveryInputHandled(dir, 5, Duration.ofSeconds(90));
    for (long i = 5; i < 55; i++) {
      producer.enqueue(work(i));
    }
    HandlingLog log = HandlingLog.awaitEveryInputHandled(dir, 55, Duration.ofSeconds(60));
    await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200)).until(() ->
        redis.sync().xpending(stream, "necrostack").getCount() == 0);

    assertThat(worker.process().isAlive()).as(worker.output()).isTrue();
    List<StreamMessage<String, String>> letters =
        redis.sync().xrange(stream + ":dlq", Range.create("-", "+"));
    assertThat(letters).singleElement().satisfies(m -> {
      assertThat(m.getBody().get("original_id")).isEqualTo(giant);
      assertThat(m.getBody().get("reason"))
          .isEqualTo("event field is 300000000 bytes, over the limit of 1048576");
    });
    String stats = worker.stop();
    System.out.println("HOSTILE_GIANT handled=" + log.distinctHandled(55) + " of 55"
        + " dead_lettered=" + letters.size() + " duplicates=" + log.duplicateHandlings());
    System.out.println(stats);
    // The giant and the five read with it were claimed; the fifty after them were read.
    assertThat(stats).contains(" reclaimed=6 ");
    assertThat(worker.output()).doesNotContain("java.lang.OutOfMemoryError: Java heap space");
  }

  private static Event work(long i) {
    return Event.of("WORK", Map.of("i", i));
  }
}
