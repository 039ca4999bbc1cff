package io.necrostack.faults;

import io.necrostack.testing.RedisServer;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Scenario 4: three worker JVMs share one consumer group; one is killed with SIGKILL
 * mid-run; the others claim its pending entries after the claim idle time. Every event is
 * handled at least once, every output is written exactly once (atomic, fenced emit + ack),
 * and the duplicate handlings are counted and reported.
 */
@Timeout(value = 150, unit = TimeUnit.SECONDS)
class WorkerCrashTest {
  @RegisterExtension final Resources toClose = new Resources(); // workers, then the server

  @Test
  void aKilledWorkersPendingEntriesAreClaimedAndNothingIsLostOrEmittedTwice(@TempDir Path dir)
      throws Exception {
    RedisServer server = RedisServer.ephemeral().start();
    toClose.add(server);
    String stream = TestRedis.uniqueStream("crash");
    int n = 6000;
    long claimIdleMs = 1000;
    Streams.produce(server.url(), stream, 0, n);
    List<WorkerProcess> workers = new ArrayList<>();
    for (int w = 1; w <= 3; w++) {
      WorkerProcess p = WorkerProcess.launch(dir, server.url(), stream, "w" + w,
          "--work-ms", "2", "--claim-idle-ms", Long.toString(claimIdleMs),
          "--claim-interval-ms", "200");
      toClose.add(p);
      workers.add(p);
    }
    WorkerProcess victim = workers.get(0);
    Path victimLog = dir.resolve("w1.log");
    // Kill it mid-run: once it has handled a few hundred events, with more in its batch.
    await().atMost(Duration.ofSeconds(60)).until(() -> Files.exists(victimLog)
        && Files.size(victimLog) > 300 * 40);
    victim.kill();
    long killedAt = System.nanoTime();
    long[] victimPending = {0};
    long recoveredMs;
    try (TestRedis redis = new TestRedis(server.url())) {
      victimPending[0] = Streams.pendingOf(redis, stream, "w1");
      // Recovery: the survivors have claimed and settled everything the victim left pending.
      await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(20))
          .until(() -> Streams.pendingOf(redis, stream, "w1") == 0);
      recoveredMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - killedAt);
    }

    HandlingLog.awaitEveryInputHandled(dir, n, Duration.ofSeconds(60));
    long recoveryMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - killedAt);
    String stats2 = workers.get(1).stop();
    String stats3 = workers.get(2).stop();

    HandlingLog log = HandlingLog.read(dir);
    Streams.Written written = Streams.written(server.url(), stream);
    Map<Long, Integer> outputs = written.outputs();
    long pending = written.pending();
    long duplicateOutputs = written.duplicateOutputs();
    System.out.printf("WORKER_CRASH produced=%d handled_distinct=%d handlings=%d"
            + " duplicate_handlings=%d outputs=%d duplicate_outputs=%d lost=%d"
            + " victim_pending_at_kill=%d victim_pending_settled_after_ms=%d"
            + " all_handled_after_kill_ms=%d claim_idle_ms=%d%n  %s%n  %s%n",
        n, log.distinctHandled(n), log.handled.values().stream().mapToLong(c -> c).sum(),
        log.duplicateHandlings(), outputs.size(), duplicateOutputs, n - log.distinctHandled(n),
        victimPending[0], recoveredMs, recoveryMs, claimIdleMs, stats2, stats3);
    assertThat(log.distinctHandled(n)).as("every event handled at least once").isEqualTo(n);
    assertThat(outputs).as("one output per input").hasSize(n);
    assertThat(duplicateOutputs).as("outputs written twice").isZero();
    assertThat(log.inputsWithDuplicateOutputs()).as("distinct output ids per input").isZero();
    assertThat(pending).as("pending after the survivors stopped").isZero();
    assertThat(victimPending[0]).as("the victim died with entries pending").isPositive();
  }

  /**
   * The same with a victim restarted under its own consumer name, twice, at concurrency 16:
   * the new life re-reads what the old one left pending (one entry per pull), while the
   * survivor claims what stays idle. Nothing lost, no output twice.
   */
  @Test
  void aWorkerKilledTwiceAndRestartedUnderItsNameAtConcurrency16LosesNothing(
      @TempDir Path dir) throws Exception {
    RedisServer server = RedisServer.ephemeral().start();
    toClose.add(server);
    String stream = TestRedis.uniqueStream("restart");
    int n = 6000;
    Streams.produce(server.url(), stream, 0, n);
    // 20 ms of work at concurrency 16: about 800 inputs/s per worker, so the survivor does
    // not finish alone before the victim's later lives have events to be killed with.
    String[] options = {"--work-ms", "20", "--concurrency", "16", "--claim-idle-ms", "1000",
        "--claim-interval-ms", "200"};
    WorkerProcess survivor = WorkerProcess.launch(dir, server.url(), stream, "steady", options);
    toClose.add(survivor);
    int kills = 0;
    long lastKillAt = 0;
    for (int life = 1; life <= 3; life++) {
      WorkerProcess victim = WorkerProcess.launch(dir, server.url(), stream, "phoenix", options);
      toClose.add(victim);
      if (life == 3) {
        break; // the last life runs to the end
      }
      Path victimLog = dir.resolve("phoenix.log");
      long before = size(victimLog);
      await().atMost(Duration.ofSeconds(60)).until(() -> size(victimLog) > before + 200 * 40);
      victim.kill();
      kills++;
      lastKillAt = System.nanoTime();
    }
    HandlingLog.awaitEveryInputHandled(dir, n, Duration.ofSeconds(90));
    long afterLastKillMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - lastKillAt);
    survivor.stop();
    HandlingLog log = HandlingLog.read(dir);
    Streams.Written written = Streams.written(server.url(), stream);
    Map<Long, Integer> outputs = written.outputs();
    long pending = written.pending();
    long dead = written.deadLettered();
    long duplicateOutputs = written.duplicateOutputs();
    System.out.printf("WORKER_RESTART produced=%d kills=%d handled_distinct=%d"
            + " duplicate_handlings=%d dead_lettered=%d outputs=%d duplicate_outputs=%d lost=%d"
            + " all_handled_after_last_kill_ms=%d%n",
        n, kills, log.distinctHandled(n), log.duplicateHandlings(), dead, outputs.size(),
        duplicateOutputs, n - log.distinctHandled(n), afterLastKillMs);
    assertThat(log.distinctHandled(n)).isEqualTo(n);
    assertThat(dead).as("no entry ran out of deliveries").isZero();
    assertThat(outputs).hasSize(n);
    assertThat(duplicateOutputs).isZero();
    assertThat(pending).isZero();
  }

  private static long size(Path file) throws java.io.IOException {
    return Files.exists(file) ? Files.size(file) : 0; // created by the worker's first record
  }
}
