package io.necrostack.faults;

import io.lettuce.core.Limit;
import io.lettuce.core.Range;
import io.lettuce.core.StreamMessage;
import io.necrostack.core.Event;
import io.necrostack.redis.RedisBackend;
import io.necrostack.redis.RedisBackendConfig;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Producing inputs and counting outputs directly in a stream, for the fault tests. */
final class Streams {
  private Streams() {}

  /** Appends WORK events with {@code i} from {@code from} (inclusive) to {@code to}. */
  static void produce(String url, String stream, long from, long to) {
    try (RedisBackend producer = RedisBackend.create(RedisBackendConfig.builder()
        .url(url).stream(stream).consumer("producer").build())) {
      List<Event> chunk = new ArrayList<>(1000);
      for (long i = from; i < to; i++) {
        chunk.add(Event.of("WORK", Map.of("i", i)));
        if (chunk.size() == 1000 || i == to - 1) {
          producer.enqueueAll(chunk);
          chunk.clear();
        }
      }
    }
  }

  /** What a run left in Redis: DONE entries per input, entries pending, dead letters. */
  record Written(Map<Long, Integer> outputs, long pending, long deadLettered) {
    /** Inputs with more than one output entry. */
    long duplicateOutputs() {
      return outputs.values().stream().filter(c -> c > 1).count();
    }
  }

  /** Reads what the run left in the stream, its group's pending list and its dead letters. */
  static Written written(String url, String stream) {
    try (TestRedis redis = new TestRedis(url)) {
      return new Written(outputsInStream(redis, stream),
          redis.sync().xpending(stream, "necrostack").getCount(),
          redis.sync().xlen(stream + ":dlq"));
    }
  }

  /**
   * How many DONE entries the stream holds per input {@code i}: the outputs written, read
   * straight from Redis (only meaningful without trimming).
   */
  static Map<Long, Integer> outputsInStream(TestRedis redis, String stream) {
    Map<Long, Integer> counts = new HashMap<>();
    String from = "-";
    while (true) {
      List<StreamMessage<String, String>> page = redis.sync().xrange(stream,
          Range.create(from, "+"), Limit.from(5000));
      for (StreamMessage<String, String> m : page) {
        String json = m.getBody().get("event");
        if (json != null && json.contains("\"DONE\"")) {
          Event e = Event.fromJson(json);
          counts.merge(((Number) e.payload().get("i")).longValue(), 1, Integer::sum);
        }
      }
      if (page.size() < 5000) {
        return counts;
      }
      from = "(" + page.get(page.size() - 1).getId();
    }
  }

  /** Entries pending at one consumer of the group. */
  static long pendingOf(TestRedis redis, String stream, String consumer) {
    Long count = redis.sync().xpending(stream, "necrostack").getConsumerMessageCount()
        .get(consumer);
    return count == null ? 0 : count;
  }
}
