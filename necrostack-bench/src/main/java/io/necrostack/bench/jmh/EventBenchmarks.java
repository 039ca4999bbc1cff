package io.necrostack.bench.jmh;

import io.necrostack.core.Event;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import tools.jackson.core.type.TypeReference;
import tools.jackson.databind.json.JsonMapper;

/**
 * Workload 3: event creation with validation, and the JSON round trip, each beside Jackson
 * doing the same to an equivalent plain {@link LinkedHashMap}.
 *
 * <p>The payload is a typical business event of about 200 bytes: strings, an integer, a
 * double, a list and a nested object. The plain map holds the same four fields the event
 * writes (id, timestamp, event_type, payload), so both sides serialize the same JSON.
 *
 * <p>Short settings (3 x 1 s warm-up, 5 x 1 s measurement, one fork) keep a full run near a
 * minute on a shared machine; the harness reports the median of the measurement iterations.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xms512m", "-Xmx512m"})
@State(Scope.Thread)
public class EventBenchmarks {
  private static final JsonMapper JACKSON = JsonMapper.builder().build();
  private static final TypeReference<LinkedHashMap<String, Object>> MAP =
      new TypeReference<>() {};

  private Map<String, Object> payload;
  private Event event;
  private String eventJson;
  private Map<String, Object> plain;
  private String plainJson;
  private String plainId;

  /** Builds the payload, the event and their JSON once; the benchmarks only read them. */
  @Setup
  public void setUp() {
    Map<String, Object> address = new LinkedHashMap<>();
    address.put("city", "Lyon");
    address.put("postcode", "69002");
    payload = new LinkedHashMap<>();
    payload.put("order_id", "ord-20261127-000042");
    payload.put("customer", "Ada Lovelace");
    payload.put("quantity", 3);
    payload.put("amount", 129.95);
    payload.put("tags", List.of("priority", "gift"));
    payload.put("address", address);
    event = Event.of("ORDER_PLACED", payload);
    eventJson = event.toJson();

    plain = new LinkedHashMap<>();
    plainId = UUID.randomUUID().toString();
    plain.put("id", plainId);
    plain.put("timestamp", "2026-11-27T04:40:00.123456+00:00");
    plain.put("event_type", "ORDER_PLACED");
    plain.put("payload", deepCopy(payload));
    plainJson = JACKSON.writeValueAsString(plain);
  }

  /** Event.of: a new id and timestamp, type check, deep copy and validation of the payload. */
  @Benchmark
  public Event eventCreate() {
    return Event.of("ORDER_PLACED", payload);
  }

  /**
   * Baseline of {@link #eventCreate()}: a plain deep copy of the same payload into the
   * four-field map, no checks. The id and timestamp are ready-made strings: {@code
   * UUID.randomUUID()} (SecureRandom) alone costs more than the whole event, which draws its
   * id from ThreadLocalRandom, and would flatter the event.
   */
  @Benchmark
  public Map<String, Object> plainMapCopy() {
    Map<String, Object> m = new LinkedHashMap<>(8);
    m.put("id", plainId);
    m.put("timestamp", "2026-11-27T04:40:00.123456+00:00");
    m.put("event_type", "ORDER_PLACED");
    m.put("payload", deepCopy(payload));
    return m;
  }

  /** The event's four-field JSON. */
  @Benchmark
  public String eventToJson() {
    return event.toJson();
  }

  /** Baseline of {@link #eventToJson()}: Jackson writing the equivalent plain map. */
  @Benchmark
  public String jacksonWriteMap() {
    return JACKSON.writeValueAsString(plain);
  }

  /** Parsing and validating the event's JSON back into an Event. */
  @Benchmark
  public Event eventFromJson() {
    return Event.fromJson(eventJson);
  }

  /** Baseline of {@link #eventFromJson()}: Jackson reading the same JSON into a plain map. */
  @Benchmark
  public Map<String, Object> jacksonReadMap() {
    return JACKSON.readValue(plainJson, MAP);
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> deepCopy(Map<String, Object> source) {
    Map<String, Object> copy = new LinkedHashMap<>(source.size() * 2);
    source.forEach((k, v) -> copy.put(k, v instanceof Map<?, ?> m
        ? deepCopy((Map<String, Object>) m)
        : v instanceof List<?> l ? List.copyOf(l) : v));
    return copy;
  }
}
