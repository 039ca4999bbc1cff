package io.necrostack.redis;

import io.necrostack.backend.BackendException;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Connects a {@link RedisBackend} when Redis may not be up yet: retries with exponential
 * backoff until it answers, or gives up after a bounded time with a clear error.
 *
 * <p>Why it exists: {@link RedisBackend#create} fails at once when Redis is unreachable (it
 * must create the consumer group), and a {@code Spine} needs a backend before it starts. A
 * service started together with its Redis (containers, a reboot) must wait for it instead of
 * crashing; a service whose Redis never comes must still fail, visibly, not hang. Used by
 * {@link RedisBackend#connect}.
 */
final class RedisStartup {
  private static final Logger log = LoggerFactory.getLogger(RedisStartup.class);
  /** First wait between two attempts. */
  static final Duration FIRST_BACKOFF = Duration.ofMillis(100);
  /** Longest wait between two attempts. */
  static final Duration MAX_BACKOFF = Duration.ofSeconds(2);

  private RedisStartup() {}

  /**
   * Creates the backend, retrying while Redis is unreachable, backing off from 100 ms
   * doubling to 2 s between attempts.
   *
   * @param maxWait how long to keep trying; zero tries once
   * @return the connected backend
   * @throws BackendException after {@code maxWait} without success, naming the (redacted)
   *     URL, the time waited, the attempts and the last cause
   */
  static RedisBackend connect(RedisBackendConfig config, Duration maxWait) {
    Objects.requireNonNull(config, "config == null");
    Objects.requireNonNull(maxWait, "maxWait == null");
    long start = System.nanoTime();
    long deadline = start + maxWait.toNanos();
    long backoff = FIRST_BACKOFF.toNanos();
    int attempts = 0;
    while (true) {
      attempts++;
      try {
        RedisBackend backend = RedisBackend.create(config);
        if (attempts > 1) {
          log.atInfo()
              .addKeyValue("url", config.redactedUrl())
              .addKeyValue("attempts", attempts)
              .addKeyValue("waited_ms", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start))
              .log("redis reachable: backend connected");
        }
        return backend;
      } catch (BackendException e) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          throw new BackendException("gave up connecting to Redis at " + config.redactedUrl()
              + " after " + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start) + " ms and "
              + attempts + " attempt(s) (startup timeout " + maxWait.toMillis() + " ms); last"
              + " error: " + e.getMessage(), e);
        }
        log.atWarn()
            .addKeyValue("url", config.redactedUrl())
            .addKeyValue("attempt", attempts)
            .addKeyValue("retry_in_ms", TimeUnit.NANOSECONDS.toMillis(Math.min(backoff, left)))
            .addKeyValue("error", e.getMessage())
            .log("redis unreachable at start; retrying");
        LockSupport.parkNanos(Math.min(backoff, left));
        if (Thread.currentThread().isInterrupted()) {
          throw new BackendException("interrupted while waiting for Redis at "
              + config.redactedUrl(), e);
        }
        backoff = Math.min(backoff * 2, MAX_BACKOFF.toNanos());
      }
    }
  }
}
