package io.necrostack.faults;

import io.necrostack.testing.RedisServer;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Scenario 6: Redis unreachable. At start, a worker retries with backoff and starts when
 * Redis comes up, or gives up after its start-up timeout with a clear error. Once running, a
 * Spine rides out a short outage but stops, with a clear error, after the configured number
 * of failed pulls in a row.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RedisUnreachableTest {
  @RegisterExtension final Resources toClose = new Resources();

  @Test
  void aWorkerStartedBeforeRedisWaitsWithBackoffAndStartsWhenRedisComesUp(@TempDir Path dir)
      throws Exception {
    RedisServer server = RedisServer.ephemeral(); // port chosen, not started
    toClose.add(server);
    String stream = TestRedis.uniqueStream("late");
    WorkerProcess worker = WorkerProcess.launch(dir, server.url(), stream, "early",
        "--startup-timeout-ms", "60000");
    toClose.add(worker);
    // Two failed attempts seen: it is waiting, not crashed.
    await().atMost(Duration.ofSeconds(30)).until(() ->
        worker.output().split("redis unreachable at start; retrying", -1).length > 2);
    assertThat(worker.process().isAlive()).isTrue();
    server.start();
    long upAt = System.nanoTime();
    await().atMost(Duration.ofSeconds(30)).until(worker::isReady);
    long startMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - upAt);
    Streams.produce(server.url(), stream, 0, 100);
    await().atMost(Duration.ofSeconds(30))
        .until(() -> HandlingLog.read(dir).distinctHandled(100) == 100);
    System.out.println("UNREACHABLE_AT_START started_after_redis_up_ms<=" + startMs);
    assertThat(worker.output()).contains("redis reachable: backend connected");
  }

  @Test
  void aWorkerWhoseRedisNeverComesGivesUpAfterItsStartupTimeoutWithAClearError(
      @TempDir Path dir) throws Exception {
    int port = RedisServer.freePort(); // nothing listens there
    WorkerProcess worker = WorkerProcess.launch(dir, "redis://127.0.0.1:" + port,
        TestRedis.uniqueStream("never"), "patient", "--startup-timeout-ms", "4000");
    toClose.add(worker);
    assertThat(worker.process().waitFor(60, TimeUnit.SECONDS)).isTrue();
    String output = worker.output();
    System.out.println("UNREACHABLE_GIVE_UP " + output.lines()
        .filter(l -> l.startsWith("WORKER_GAVE_UP")).findFirst().orElse("<none>"));
    assertThat(worker.process().exitValue()).isEqualTo(3);
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("WORKER_GAVE_UP gave up"
        + " connecting to Redis at redis://127\\.0\\.0\\.1:" + port + " after (\\d+) ms and"
        + " (\\d+) attempt\\(s\\) \\(startup timeout 4000 ms\\); last error: cannot connect"
        + " to Redis").matcher(output);
    assertThat(m.find()).as(output).isTrue();
    assertThat(Long.parseLong(m.group(1))).as("waited the whole timeout").isBetween(4000L, 20000L);
    assertThat(Integer.parseInt(m.group(2))).as("retried with backoff").isGreaterThan(1);
  }

  @Test
  void aRunningWorkerStopsWithAClearErrorWhenRedisStaysDownPastItsPullFailures(
      @TempDir Path dir) throws Exception {
    RedisServer server = RedisServer.ephemeral().start();
    toClose.add(server);
    String stream = TestRedis.uniqueStream("gone");
    // Settles retry for --retry-s before a pull reports the failure: keep it short here.
    WorkerProcess worker = WorkerProcess.launch(dir, server.url(), stream, "stranded",
        "--max-pull-failures", "5", "--retry-s", "2");
    toClose.add(worker);
    await().atMost(Duration.ofSeconds(30)).until(worker::isReady);
    Streams.produce(server.url(), stream, 0, 10);
    await().atMost(Duration.ofSeconds(30))
        .until(() -> HandlingLog.read(dir).distinctHandled(10) == 10);
    server.kill();
    long killedAt = System.nanoTime();
    assertThat(worker.process().waitFor(60, TimeUnit.SECONDS)).isTrue();
    System.out.println("UNREACHABLE_WHILE_RUNNING worker exited "
        + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - killedAt) + " ms after Redis died");
    assertThat(worker.process().exitValue()).isEqualTo(2);
    assertThat(worker.output()).contains("WORKER_FAILED")
        .contains("BackendUnavailableException");
  }
}
