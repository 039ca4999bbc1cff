package io.necrostack.faults;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A {@link Worker} JVM launched by a test: same {@code java} binary and classpath as the test
 * (Surefire runs without a manifest-only jar, so {@code java.class.path} is the real one).
 * Its stdout and stderr go to {@code <consumer>.out} and its handling records to {@code
 * <consumer>.log} in the given directory. Always {@link #close() closed} by the test, which
 * kills it if it is still running.
 */
final class WorkerProcess implements AutoCloseable {
  private final String consumer;
  private final Path out;
  private final Process process;

  private WorkerProcess(String consumer, Path out, Process process) {
    this.consumer = consumer;
    this.out = out;
    this.process = process;
  }

  /**
   * Launches a worker.
   *
   * @param options further {@code --name value} pairs for {@link Worker}
   */
  static WorkerProcess launch(Path dir, String redisUrl, String stream, String consumer,
      String... options) throws IOException {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<String> cmd = new ArrayList<>(List.of(java, "-Xmx256m", "-XX:+UseSerialGC",
        "-Dorg.slf4j.simpleLogger.defaultLogLevel=info",
        "-Dorg.slf4j.simpleLogger.showDateTime=true",
        "-cp", System.getProperty("java.class.path"),
        Worker.class.getName(),
        "--redis", redisUrl, "--stream", stream, "--consumer", consumer,
        "--log", dir.resolve(consumer + ".log").toString()));
    cmd.addAll(List.of(options));
    Path out = dir.resolve(consumer + ".out");
    Process p = new ProcessBuilder(cmd)
        .redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(out.toFile()))
        .start();
    return new WorkerProcess(consumer, out, p);
  }

  String consumer() {
    return consumer;
  }

  Process process() {
    return process;
  }

  /** Everything the worker printed so far. */
  String output() {
    try {
      return Files.exists(out) ? Files.readString(out, StandardCharsets.UTF_8) : "";
    } catch (IOException e) {
      return "<cannot read " + out + ": " + e + ">";
    }
  }

  boolean isReady() {
    return output().contains("WORKER_READY");
  }

  /** SIGKILL, as a crash: nothing of the worker runs afterwards. */
  void kill() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor(10, TimeUnit.SECONDS);
  }

  /**
   * SIGTERM, a graceful stop: the worker finishes in-flight events and prints its stats.
   * Killed if it has not exited within 30 s.
   *
   * @return the {@code WORKER_STATS} line, or null if it printed none
   */
  String stop() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(30, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      process.waitFor(10, TimeUnit.SECONDS);
    }
    return output().lines().filter(l -> l.startsWith("WORKER_STATS")).reduce((a, b) -> b)
        .orElse(null);
  }

  @Override
  public void close() throws InterruptedException {
    if (process.isAlive()) {
      kill();
    }
  }
}
