package io.necrostack.apps.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.necrostack.testing.RedisServer;
import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
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
 * Ctrl-C during a Redis run: the command line stops gracefully. A real JVM gets a real SIGINT
 * in the middle of a long ETL; it must finish and settle what it was handling (its settles are
 * buffered, so without a graceful stop the handled events would stay pending, to be handled
 * again), leave the rest pending, say so, and exit with 130.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class InterruptTest {
  @RegisterExtension static final RedisServer server = RedisServer.ephemeral();

  private static final Pattern STOPPED =
      Pattern.compile("interrupted: stopped gracefully after (\\d+) event\\(s\\)");

  @TempDir Path dir;

  @Test
  void ctrlCDuringARedisRunSettlesWhatWasHandledLeavesTheRestPendingAndExits130()
      throws Exception {
    Path csv = dir.resolve("people.csv");
    try (Writer w = Files.newBufferedWriter(csv, StandardCharsets.UTF_8)) {
      w.write("name,age,salary,department\n");
      for (int i = 0; i < 20_000; i++) {
        w.write("Person " + i + "," + (20 + i % 40) + "," + (30_000 + i) + ",D" + (i % 5) + "\n");
      }
    }
    String stream = "necrostack:etl:interrupt";
    Path out = dir.resolve("out.txt");
    Path err = dir.resolve("err.txt");
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Process process = new ProcessBuilder(java, "-Xmx256m", "-cp",
        System.getProperty("java.class.path"), Main.class.getName(),
        "etl", "--input", csv.toString(), "--chunk-size", "1", "--backend", server.url(),
        "--stream", stream, "--timeout", "0")
        .redirectOutput(out.toFile())
        .redirectError(err.toFile())
        .start();
    RedisClient client = RedisClient.create(server.url());
    try (StatefulRedisConnection<String, String> connection = client.connect()) {
      RedisCommands<String, String> redis = connection.sync();
      await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(20))
          .until(() -> group(redis, stream).getOrDefault("entries-read", 0L) >= 500);

      new ProcessBuilder("kill", "-INT", Long.toString(process.pid())).start().waitFor();
      assertThat(process.waitFor(60, TimeUnit.SECONDS)).as("exited; stderr: %s", read(err))
          .isTrue();

      assertThat(process.exitValue()).as("stderr: %s", read(err)).isEqualTo(130);
      Matcher stopped = STOPPED.matcher(read(err));
      assertThat(stopped.find()).as("stderr: %s", read(err)).isTrue();
      long handled = Long.parseLong(stopped.group(1));
      Map<String, Long> group = group(redis, stream);
      long acked = group.get("entries-read") - group.get("pending");
      assertThat(handled).as("stopped mid-run").isPositive();
      // Every event handled was settled (outputs written and input acknowledged together);
      // every other event read is still pending, for the next consumer.
      assertThat(acked).as("acknowledged entries, group %s", group).isEqualTo(handled);
      assertThat(redis.xlen(stream)).as("the stream is kept").isGreaterThan(handled);
    } finally {
      process.destroyForcibly();
      client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
  }

  /** The numeric fields of the stream's one consumer group (XINFO GROUPS). */
  private static Map<String, Long> group(RedisCommands<String, String> redis, String stream) {
    Map<String, Long> figures = new HashMap<>();
    try {
      List<Object> groups = redis.xinfoGroups(stream);
      if (groups.isEmpty()) {
        return figures;
      }
      List<?> fields = (List<?>) groups.get(0);
      for (int i = 0; i + 1 < fields.size(); i += 2) {
        if (fields.get(i + 1) instanceof Long value) {
          figures.put(String.valueOf(fields.get(i)), value);
        }
      }
    } catch (io.lettuce.core.RedisCommandExecutionException e) {
      // no such stream yet
    }
    return figures;
  }

  private static String read(Path file) throws IOException {
    return Files.exists(file) ? Files.readString(file, StandardCharsets.UTF_8) : "";
  }
}
