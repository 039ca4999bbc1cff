package io.necrostack.faults;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.necrostack.testing.RedisServer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Scenario 10: Redis down for 30 s under a running worker. The Spine rides it out (no bound on
 * failed pulls on a durable backend), reports itself not ready meanwhile, and resumes on its
 * own when Redis is back: every event handled, each output written once, nothing lost.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class RedisOutageTest {
  /** The outage the issue names; the worker's pulls fail about 35 times during it. */
  private static final Duration OUTAGE = Duration.ofSeconds(30);

  @RegisterExtension final Resources toClose = new Resources();

  @Test
  void aWorkerRidesOutThirtySecondsOfRedisDownAndResumesLosingNothing(@TempDir Path dir)
      throws Exception {
    RedisServer server = RedisServer.durable().start(); // AOF: the restart keeps the stream
    toClose.add(server);
    String stream = TestRedis.uniqueStream("outage");
    int n = 3000;
    Streams.produce(server.url(), stream, 0, n);
    // Claims after 2 s: entries a read delivered while its reply was lost in the kill are
    // claimed back soon after Redis returns.
    WorkerProcess worker = WorkerProcess.launch(dir, server.url(), stream, "o1",
        "--work-ms", "2", "--claim-idle-ms", "2000", "--claim-interval-ms", "500",
        "--retry-s", "2", "--report-health", "true");
    toClose.add(worker);
    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(50))
        .until(() -> HandlingLog.read(dir).distinctHandled(n) >= n / 4);

    server.kill();
    long killedAt = System.nanoTime();
    await().atMost(Duration.ofSeconds(20))
        .until(() -> worker.output().contains("WORKER_HEALTH ready=false"));
    long handledDuringOutage = HandlingLog.read(dir).lines;
    // The whole outage: the worker stays up (it used to stop after 10 failed pulls, ~4 s).
    await().during(OUTAGE.minusNanos(System.nanoTime() - killedAt))
        .atMost(OUTAGE.plusSeconds(10)).until(worker.process()::isAlive);
    long outageMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - killedAt);
    server.start();
    long restartedAt = System.nanoTime();
    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(20))
        .until(() -> HandlingLog.read(dir).lines > handledDuringOutage + 100);
    long resumedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - restartedAt);
    HandlingLog.awaitEveryInputHandled(dir, n, Duration.ofSeconds(90));
    await().atMost(Duration.ofSeconds(30)).until(() -> worker.output()
        .lastIndexOf("WORKER_HEALTH ready=true") > worker.output().indexOf("ready=false"));
    await().atMost(Duration.ofSeconds(30))
        .until(() -> Streams.written(server.url(), stream).pending() == 0);
    String stats = worker.stop();

    HandlingLog log = HandlingLog.read(dir);
    Streams.Written written = Streams.written(server.url(), stream);
    System.out.printf("REDIS_OUTAGE produced=%d handled_distinct=%d duplicate_handlings=%d"
            + " outputs=%d duplicate_outputs=%d lost=%d outage_ms=%d resumed_after_ms=%d"
            + "%n  %s%n",
        n, log.distinctHandled(n), log.duplicateHandlings(), written.outputs().size(),
        written.duplicateOutputs(), n - log.distinctHandled(n), outageMs, resumedMs, stats);
    assertThat(log.distinctHandled(n)).as("every event handled: lost 0").isEqualTo(n);
    assertThat(written.outputs()).as("one output per input, kept by the AOF").hasSize(n);
    assertThat(written.duplicateOutputs()).as("outputs written twice").isZero();
    assertThat(written.pending()).isZero();
    assertThat(written.deadLettered()).as("an outage dead-letters nothing").isZero();
    assertThat(stats).as("stopped gracefully after the outage").isNotNull()
        .doesNotContain("pull_errors=0 ").contains("refused_settles=0");
  }
}
