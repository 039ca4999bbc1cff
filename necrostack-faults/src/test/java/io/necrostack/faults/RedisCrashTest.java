package io.necrostack.faults;

import io.necrostack.testing.RedisServer;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Scenario 5: {@code redis-server} with AOF ({@code appendfsync always}) is killed with
 * SIGKILL mid-run and restarted on the same port. The worker JVMs reconnect on their own;
 * every event is handled, none lost, and no output is written twice.
 */
@Timeout(value = 150, unit = TimeUnit.SECONDS)
class RedisCrashTest {
  @RegisterExtension final Resources toClose = new Resources();

  @Test
  void workersSurviveRedisBeingKilledAndRestartedWithAofAndLoseNothing(@TempDir Path dir)
      throws Exception {
    RedisServer server = RedisServer.durable().start();
    toClose.add(server);
    String stream = TestRedis.uniqueStream("rediscrash");
    int n = 4000;
    Streams.produce(server.url(), stream, 0, n);
    List<WorkerProcess> workers = new ArrayList<>();
    for (int w = 1; w <= 2; w++) {
      WorkerProcess p = WorkerProcess.launch(dir, server.url(), stream, "r" + w,
          "--work-ms", "1", "--claim-idle-ms", "1000", "--claim-interval-ms", "200");
      toClose.add(p);
      workers.add(p);
    }
    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(50))
        .until(() -> HandlingLog.read(dir).distinctHandled(n) >= n / 4);
    server.kill();
    long handledAtKill = HandlingLog.read(dir).lines;
    server.start(); // same port, same AOF: returns once it answers PING
    long restartedAt = System.nanoTime();
    // Recovery: outputs of handlings after the restart are being committed again.
    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(20))
        .until(() -> HandlingLog.read(dir).lines > handledAtKill + 200);
    long recoveryMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - restartedAt);
    HandlingLog.awaitEveryInputHandled(dir, n, Duration.ofSeconds(90));
    String stats1 = workers.get(0).stop();
    String stats2 = workers.get(1).stop();

    HandlingLog log = HandlingLog.read(dir);
    Streams.Written written = Streams.written(server.url(), stream);
    Map<Long, Integer> outputs = written.outputs();
    long pending = written.pending();
    long duplicateOutputs = written.duplicateOutputs();
    System.out.printf("REDIS_CRASH produced=%d handled_distinct=%d duplicate_handlings=%d"
            + " outputs=%d duplicate_outputs=%d lost=%d recovery_ms=%d%n  %s%n  %s%n",
        n, log.distinctHandled(n), log.duplicateHandlings(), outputs.size(), duplicateOutputs,
        n - log.distinctHandled(n), recoveryMs, stats1, stats2);
    assertThat(log.distinctHandled(n)).as("every event handled").isEqualTo(n);
    assertThat(outputs).as("one output per input, kept by the AOF").hasSize(n);
    assertThat(duplicateOutputs).as("outputs written twice").isZero();
    assertThat(pending).isZero();
    // Both workers were connected when Redis died: each must have re-established a connection.
    assertThat(reconnections(stats1)).as("worker 1 reconnections: %s", stats1).isPositive();
    assertThat(reconnections(stats2)).as("worker 2 reconnections: %s", stats2).isPositive();
  }

  /** The count a worker printed at its graceful stop ({@code reconnections=N}). */
  private static long reconnections(String stats) {
    Matcher m = Pattern.compile("reconnections=(\\d+)").matcher(stats);
    assertThat(m.find()).as("a graceful stop prints its counters: %s", stats).isTrue();
    return Long.parseLong(m.group(1));
  }

  /**
   * Without persistence a restart loses the stream and the group: what was waiting is gone
   * (documented, not guaranteed). What is guaranteed is that the workers notice ({@code
   * NOGROUP}), re-create the group and keep serving new events.
   */
  @Test
  void withoutPersistenceARestartLosesTheStreamButWorkersRecreateTheGroupAndGoOn(
      @TempDir Path dir) throws Exception {
    RedisServer server = RedisServer.ephemeral().start();
    toClose.add(server);
    String stream = TestRedis.uniqueStream("ephemeral");
    WorkerProcess worker = WorkerProcess.launch(dir, server.url(), stream, "e1",
        "--claim-idle-ms", "1000", "--claim-interval-ms", "200");
    toClose.add(worker);
    await().atMost(Duration.ofSeconds(30)).until(worker::isReady);
    Streams.produce(server.url(), stream, 0, 100);
    await().atMost(Duration.ofSeconds(30))
        .until(() -> HandlingLog.read(dir).distinctHandled(100) == 100);
    server.kill();
    server.start(); // empty: no AOF
    long restartedAt = System.nanoTime();
    // The worker finds its group gone and re-creates it before anyone else could.
    await().atMost(Duration.ofSeconds(30)).until(() -> worker.output().contains("NOGROUP"));
    Streams.produce(server.url(), stream, 100, 200);
    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(50))
        .until(() -> HandlingLog.read(dir).distinctHandled(200) == 200);
    long recoveryMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - restartedAt);
    String stats = worker.stop();
    System.out.println("EPHEMERAL_RESTART handled_after_restart=100 recovery_ms=" + recoveryMs
        + "\n  " + stats);
    assertThat(stats).as("still serving, stopped gracefully").isNotNull();
  }
}
