package io.necrostack.faults;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A private {@code redis-server} on a free loopback port (never the shared one on 6379),
 * which a test may kill (SIGKILL) and restart on the same port and data directory.
 *
 * <p>Adapted from necrostack-redis's test harness ({@code io.necrostack.redis.RedisServer}):
 * a module cannot see another module's test classes, and this one needs per-test servers,
 * a chosen port (to start one late) and AOF on demand rather than a JUnit class extension.
 */
final class RedisServer implements AutoCloseable {
  private final boolean aof;
  private final int port;
  private final Path dir;
  private Process process;

  private RedisServer(boolean aof, int port) throws IOException {
    this.aof = aof;
    this.port = port;
    this.dir = Files.createTempDirectory("necrostack-faults-redis");
  }

  /** A server without persistence, not started yet. */
  static RedisServer ephemeral() throws IOException {
    return new RedisServer(false, freePort());
  }

  /** A server with AOF and {@code appendfsync always}, not started yet. */
  static RedisServer durable() throws IOException {
    return new RedisServer(true, freePort());
  }

  /** Starts (or restarts) the server on its port and data directory; returns this. */
  RedisServer start() throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of(
        "redis-server", "--port", Integer.toString(port), "--bind", "127.0.0.1",
        "--save", "", "--dir", dir.toString(), "--daemonize", "no", "--loglevel", "warning",
        // 10 MB entries are part of the bad-input suite: keep the client buffers out of the way.
        "--proto-max-bulk-len", "64mb"));
    if (aof) {
      cmd.addAll(List.of("--appendonly", "yes", "--appendfsync", "always"));
    } else {
      cmd.addAll(List.of("--appendonly", "no"));
    }
    ProcessBuilder pb = new ProcessBuilder(cmd)
        .redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("redis.log").toFile()));
    try {
      process = pb.start();
    } catch (IOException e) {
      throw new IllegalStateException(
          "redis-server not found on PATH: install it (apt-get install redis-server)", e);
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!answersPing()) {
      if (!process.isAlive()) {
        throw new IllegalStateException("redis-server exited at start; log: "
            + Files.readString(dir.resolve("redis.log")));
      }
      if (System.nanoTime() > deadline) {
        kill();
        throw new IllegalStateException("redis-server did not answer PING within 30 s");
      }
      // Polling a process we just started: a short wait between connection attempts.
      process.waitFor(20, TimeUnit.MILLISECONDS);
    }
    return this;
  }

  /** Kills the server at once (SIGKILL), as a crash would. */
  void kill() throws InterruptedException {
    if (process != null && process.isAlive()) {
      process.destroyForcibly();
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        throw new IllegalStateException("redis-server survived SIGKILL for 10 s");
      }
    }
  }

  boolean isAlive() {
    return process != null && process.isAlive();
  }

  /** Kills the server and deletes its data directory. */
  @Override
  public void close() throws Exception {
    kill();
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  String url() {
    return "redis://127.0.0.1:" + port;
  }

  int port() {
    return port;
  }

  private boolean answersPing() {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 200);
      s.setSoTimeout(1000);
      OutputStream out = s.getOutputStream();
      out.write("PING\r\n".getBytes(StandardCharsets.UTF_8));
      out.flush();
      return readLine(s.getInputStream()).startsWith("+PONG");
    } catch (IOException e) {
      return false; // not listening yet, or loading the AOF
    }
  }

  private static String readLine(InputStream in) throws IOException {
    StringBuilder sb = new StringBuilder();
    int c;
    while ((c = in.read()) >= 0 && c != '\n') {
      sb.append((char) c);
    }
    return sb.toString();
  }

  /** A loopback port free now (a race with other processes is possible but unlikely). */
  static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      socket.setReuseAddress(true);
      return socket.getLocalPort();
    }
  }
}
