package io.necrostack.micrometer;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.FunctionTimer;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.necrostack.core.Event;
import io.necrostack.core.HandlingObserver;
import io.necrostack.core.Organ;
import io.necrostack.core.OrganStats;
import io.necrostack.core.Spine;
import io.necrostack.core.SpineStats;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.ToDoubleFunction;
import java.util.function.ToLongFunction;

/**
 * Micrometer metrics for NecroStack: a {@link HandlingObserver} that times every handling, and
 * a {@link MeterBinder} for a Spine's counters and its backend's figures.
 *
 * <p>Typical use — the observer must be on the Spine before it is built, the Spine must exist
 * before its gauges can be bound:
 *
 * <pre>{@code
 * NecroStackMetrics metrics = NecroStackMetrics.builder().percentileHistograms(true).build();
 * Spine spine = Spine.builder().backend(backend).organs(organs).observer(metrics).build();
 * metrics.monitor(spine).bindTo(registry);
 * }</pre>
 *
 * <p>Without {@link #monitor(Spine)}, {@link #bindTo} enables only the per-handling meters;
 * without the observer registered on the Spine, only the Spine-level meters move. Until
 * {@link #bindTo} is called the observer records nothing. One instance binds to one registry
 * (publish to several through a {@code CompositeMeterRegistry}). Meter names are listed in
 * {@code docs/OBSERVABILITY.md} and as constants here. Thread-safe.
 *
 * <p>The {@value #TAG_EVENT_TYPE} tag takes the first {@link SpineStats#MAX_TYPES} distinct
 * event types seen; later types are tagged {@value SpineStats#OTHER_TYPES}, as the Spine's
 * per-type counters do, so events of ever new types cannot grow the registry without bound.
 */
public final class NecroStackMetrics implements HandlingObserver, MeterBinder {

  /** Timer of each handling attempt; tags {@code event.type}, {@code organ}, {@code outcome}. */
  public static final String HANDLING = "necrostack.handling";

  /** Counter of events emitted by successful handlings; tags {@code event.type}, {@code organ}. */
  public static final String HANDLING_EMITTED = "necrostack.handling.emitted";

  /** Prefix of the gauges made from the numeric details of the backend's health. */
  public static final String BACKEND_PREFIX = "necrostack.backend.";

  /** Tag: the type of the handled (or, for emitted, the emitted) event. */
  public static final String TAG_EVENT_TYPE = "event.type";

  /** Tag: the organ's name. */
  public static final String TAG_ORGAN = "organ";

  /** Tag: {@value #SUCCESS} or {@value #FAILURE}. */
  public static final String TAG_OUTCOME = "outcome";

  /** Outcome of a handling whose handler returned normally. */
  public static final String SUCCESS = "success";

  /** Outcome of a handling that threw or timed out. */
  public static final String FAILURE = "failure";

  /** Default time a backend health sample is reused: health calls may be slow (Redis). */
  public static final Duration DEFAULT_HEALTH_CACHE = Duration.ofSeconds(1);

  private final boolean percentileHistograms;
  private final Tags commonTags;
  private final Duration healthCache;
  private final Set<String> extraBackendDetails;

  // Both set once, under this monitor; read on handler threads without locking.
  private volatile MeterRegistry registry;
  private volatile Spine spine;

  // Building a meter id and looking it up per handling costs more than this map lookup.
  private final Map<TimerKey, Timer> timers = new ConcurrentHashMap<>();
  private final Map<TimerKey, Counter> emittedCounters = new ConcurrentHashMap<>();
  /** The event types with a tag of their own: at most SpineStats.MAX_TYPES. */
  private final Set<String> taggedTypes = ConcurrentHashMap.newKeySet();

  private NecroStackMetrics(Builder b) {
    this.percentileHistograms = b.percentileHistograms;
    this.commonTags = b.tags;
    this.healthCache = b.healthCache;
    this.extraBackendDetails = Set.copyOf(b.backendDetails);
  }

  /** Metrics with the defaults: no percentile histograms, no extra tags, a 1 s health cache. */
  public NecroStackMetrics() {
    this(new Builder());
  }

  /** A builder for the options. */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Makes {@link #bindTo} also register the meters of this Spine and its backend.
   *
   * @return this, to chain {@code .bindTo(registry)}
   * @throws IllegalStateException if a Spine is already monitored or the meters are bound
   */
  public synchronized NecroStackMetrics monitor(Spine spine) {
    Objects.requireNonNull(spine, "spine == null");
    if (this.spine != null) {
      throw new IllegalStateException("already monitoring a spine; use one instance per spine");
    }
    if (registry != null) {
      throw new IllegalStateException("monitor(spine) must be called before bindTo(registry)");
    }
    this.spine = spine;
    return this;
  }

  /**
   * Registers the meters in the registry: the per-handling ones (recorded from now on) and,
   * when a Spine is {@linkplain #monitor monitored}, its counters and the backend's gauges.
   *
   * @throws IllegalStateException if already bound
   */
  @Override
  public synchronized void bindTo(MeterRegistry registry) {
    Objects.requireNonNull(registry, "registry == null");
    if (this.registry != null) {
      throw new IllegalStateException(
          "already bound to a registry; use a CompositeMeterRegistry to publish to several");
    }
    if (spine != null) {
      bindSpine(registry, spine);
    }
    this.registry = registry; // last: handlings record only once everything is registered
  }

  // ------------------------------------------------------------------ handling observer

  @Override
  public Scope begin(Event event, String organ) {
    MeterRegistry r = registry;
    if (r == null) {
      return Scope.NONE;
    }
    return new HandlingScope(r, typeTag(event.eventType()), organ,
        r.config().clock().monotonicTime());
  }

  /** The type's own tag for the first {@link SpineStats#MAX_TYPES} types, then "other". */
  private String typeTag(String eventType) {
    if (taggedTypes.contains(eventType)) {
      return eventType;
    }
    synchronized (taggedTypes) { // a new type is rare: keep the bound exact
      if (taggedTypes.contains(eventType) || taggedTypes.size() < SpineStats.MAX_TYPES
          && taggedTypes.add(eventType)) {
        return eventType;
      }
    }
    return SpineStats.OTHER_TYPES;
  }

  /** Times one handling; the outcome is known only at its end. */
  private final class HandlingScope implements Scope {
    private final MeterRegistry registry;
    private final String eventType;
    private final String organ;
    private final long startNanos;

    HandlingScope(MeterRegistry registry, String eventType, String organ, long startNanos) {
      this.registry = registry;
      this.eventType = eventType;
      this.organ = organ;
      this.startNanos = startNanos;
    }

    @Override
    public void success(List<Event> emitted) {
      record(SUCCESS);
      for (Event e : emitted) {
        emittedCounter(registry, typeTag(e.eventType()), organ).increment();
      }
    }

    @Override
    public void failure(Throwable error) {
      record(FAILURE);
    }

    private void record(String outcome) {
      long elapsed = registry.config().clock().monotonicTime() - startNanos;
      timer(registry, eventType, organ, outcome).record(elapsed, TimeUnit.NANOSECONDS);
    }
  }

  private Timer timer(MeterRegistry r, String eventType, String organ, String outcome) {
    return timers.computeIfAbsent(
        new TimerKey(eventType, organ, outcome),
        k ->
            Timer.builder(HANDLING)
                .description("Time of each handling attempt of an event by an organ")
                .tags(commonTags)
                .tag(TAG_EVENT_TYPE, k.eventType)
                .tag(TAG_ORGAN, k.organ)
                .tag(TAG_OUTCOME, k.outcome)
                .publishPercentileHistogram(percentileHistograms)
                .register(r));
  }

  private Counter emittedCounter(MeterRegistry r, String eventType, String organ) {
    return emittedCounters.computeIfAbsent(
        new TimerKey(eventType, organ, ""),
        k ->
            Counter.builder(HANDLING_EMITTED)
                .description("Events emitted by successful handlings, per emitted type and organ")
                .tags(commonTags)
                .tag(TAG_EVENT_TYPE, k.eventType)
                .tag(TAG_ORGAN, k.organ)
                .register(r));
  }

  private record TimerKey(String eventType, String organ, String outcome) {}

  // ------------------------------------------------------------------ spine binder

  private void bindSpine(MeterRegistry r, Spine s) {
    counter(r, s, "necrostack.events.processed", "Events pulled and settled", SpineStats::processed);
    counter(r, s, "necrostack.events.emitted", "Events emitted and accepted by the backend",
        SpineStats::emitted);
    counter(r, s, "necrostack.events.retried", "Attempts scheduled again after a failure",
        SpineStats::retried);
    counter(r, s, "necrostack.events.dead.lettered", "Events stored as dead letters",
        SpineStats::deadLettered);
    counter(r, s, "necrostack.events.timed.out", "Handling attempts that exceeded their timeout",
        SpineStats::timedOut);
    counter(r, s, "necrostack.events.nacked", "Events given back to the backend by NACK",
        SpineStats::nacked);
    counter(r, s, "necrostack.events.unhandled", "Events of types no organ listens to",
        SpineStats::totalUnhandled);
    counter(r, s, "necrostack.events.rejected",
        "Handling steps an executor refused; their events were given back",
        SpineStats::rejected);
    counter(r, s, "necrostack.events.enqueue.failures", "Emitted events the backend refused",
        st -> st.enqueueFailures().values().stream().mapToLong(Long::longValue).sum());
    counter(r, s, "necrostack.backend.pull.errors", "Failed pulls from the backend",
        SpineStats::backendErrors);
    counter(r, s, "necrostack.backend.ack.errors", "Failed acknowledgements",
        SpineStats::ackErrors);
    Gauge.builder("necrostack.events.in.flight", s, sp -> sp.stats().inFlight())
        .description("Events being handled now")
        .tags(commonTags)
        .register(r);

    for (Organ organ : s.organs()) {
      String name = organ.name();
      Tags tags = commonTags.and(TAG_ORGAN, name);
      FunctionCounter.builder("necrostack.handler.errors", s,
              sp -> sp.stats().handlerErrors().getOrDefault(name, 0L))
          .description("Handlings that failed after their last attempt, per organ")
          .tags(tags)
          .register(r);
      // From the Spine's own figures, so handling time is visible even without the observer.
      FunctionTimer.builder("necrostack.organ.handling", s,
              sp -> organStats(sp, name).count(),
              sp -> organStats(sp, name).total().toNanos(),
              TimeUnit.NANOSECONDS)
          .description("Time of every handling attempt of an organ, from the Spine's stats")
          .tags(tags)
          .register(r);
    }

    // Gauges hold their object weakly; the sampler has no other owner, so hold it strongly.
    HealthSampler health = new HealthSampler(s, r, healthCache);
    Gauge.builder("necrostack.spine.running", health, h -> h.sample().running() ? 1 : 0)
        .description("1 while the Spine is processing events, else 0")
        .tags(commonTags)
        .strongReference(true)
          .register(r);
    Gauge.builder("necrostack.backend.up", health, h -> h.sample().backend().up() ? 1 : 0)
        .description("1 while the backend can store and deliver events, else 0")
        .tags(commonTags)
        .strongReference(true)
          .register(r);
    // Not through the sampler: the first scrape after binding must see fresh figures.
    Set<String> keys = new LinkedHashSet<>();
    s.health().backend().details().forEach((k, v) -> {
      if (v instanceof Number) {
        keys.add(k);
      }
    });
    keys.addAll(extraBackendDetails);
    for (String key : keys) {
      Gauge.builder(backendMeterName(key), health, h -> h.detail(key))
          .description("Backend health detail '" + key + "'")
          .tags(commonTags)
          .strongReference(true)
          .register(r);
    }
  }

  private void counter(MeterRegistry r, Spine s, String name, String description,
      ToLongFunction<SpineStats> figure) {
    ToDoubleFunction<Spine> f = sp -> figure.applyAsLong(sp.stats());
    FunctionCounter.builder(name, s, f).description(description).tags(commonTags).register(r);
  }

  private static OrganStats organStats(Spine spine, String organ) {
    OrganStats stats = spine.stats().organs().get(organ);
    return stats != null ? stats : new OrganStats(0, Duration.ZERO, Duration.ZERO);
  }

  /**
   * The meter name of a backend health detail: {@code necrostack.backend.} and the key in
   * lower case with {@code _}, {@code -} and spaces turned into dots, e.g. {@code group_lag} to
   * {@code necrostack.backend.group.lag}.
   */
  public static String backendMeterName(String detailKey) {
    StringBuilder name = new StringBuilder(BACKEND_PREFIX);
    for (char c : detailKey.strip().toCharArray()) {
      name.append(c == '_' || c == '-' || c == ' ' ? '.' : Character.toLowerCase(c));
    }
    return name.toString();
  }

  /** Builder of {@link NecroStackMetrics}. */
  public static final class Builder {
    private boolean percentileHistograms;
    private Tags tags = Tags.empty();
    private Duration healthCache = DEFAULT_HEALTH_CACHE;
    private final List<String> backendDetails = new ArrayList<>();

    private Builder() {}

    /**
     * Publishes a percentile histogram for the handling timer (for Prometheus
     * {@code histogram_quantile}); off by default because it adds about 70 series per timer.
     */
    public Builder percentileHistograms(boolean enabled) {
      this.percentileHistograms = enabled;
      return this;
    }

    /**
     * Tags added to every meter, e.g. {@code spine=orders} to tell several Spines apart in one
     * registry (their meters would otherwise share ids).
     */
    public Builder tags(Iterable<Tag> tags) {
      this.tags = this.tags.and(Objects.requireNonNull(tags, "tags == null"));
      return this;
    }

    /** Adds one tag to every meter; see {@link #tags(Iterable)}. */
    public Builder tag(String key, String value) {
      this.tags = this.tags.and(key, value);
      return this;
    }

    /**
     * How long one sample of the Spine's and backend's health is reused by the gauges; zero
     * samples on every read. Default {@link #DEFAULT_HEALTH_CACHE}.
     */
    public Builder healthCache(Duration healthCache) {
      Objects.requireNonNull(healthCache, "healthCache == null");
      if (healthCache.isNegative()) {
        throw new IllegalArgumentException("healthCache must not be negative, got " + healthCache);
      }
      this.healthCache = healthCache;
      return this;
    }

    /**
     * Registers gauges for backend health details even if the backend does not report them
     * (as numbers) when the meters are bound: the Redis backend reports {@code stream_length},
     * {@code group_lag}, {@code pending} and {@code dead_letters} only while Redis answers.
     * A declared gauge reads NaN while its detail is absent. Details reported at bind time
     * need no declaration. Keys are not registered later on their own because a gauge read
     * (where a sample is taken) is no safe place to register meters.
     */
    public Builder backendDetails(String... keys) {
      for (String key : keys) {
        Objects.requireNonNull(key, "backend detail key == null");
        if (key.isBlank()) {
          throw new IllegalArgumentException("backend detail key must not be blank");
        }
        backendDetails.add(key);
      }
      return this;
    }

    /** The metrics; bind them with {@link NecroStackMetrics#bindTo}. */
    public NecroStackMetrics build() {
      return new NecroStackMetrics(this);
    }
  }
}
