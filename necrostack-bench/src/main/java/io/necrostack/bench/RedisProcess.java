package io.necrostack.bench;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A private {@code redis-server} for the benchmarks: a free loopback port (never the shared
 * server on 6379), no persistence, its own temporary directory, killed on {@link #close()}.
 */
public final class RedisProcess implements AutoCloseable {
  private final Process process;
  private final Path dir;
  private final int port;

  private RedisProcess(Process process, Path dir, int port) {
    this.process = process;
    this.dir = dir;
    this.port = port;
  }

  /**
   * Starts {@code redis-server} and waits until it answers PING.
   *
   * @throws IllegalStateException if it is not installed or does not come up within 20 s
   */
  public static RedisProcess start() throws IOException, InterruptedException {
    Path dir = Files.createTempDirectory("necrostack-bench-redis");
    int port;
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    Process p;
    try {
      p = new ProcessBuilder(List.of("redis-server", "--port", Integer.toString(port),
          "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir.toString(),
          "--daemonize", "no", "--loglevel", "warning"))
          .redirectErrorStream(true)
          .redirectOutput(dir.resolve("redis.log").toFile())
          .start();
    } catch (IOException e) {
      throw new IllegalStateException("redis-server not found on PATH", e);
    }
    RedisProcess redis = new RedisProcess(p, dir, port);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (!redis.answersPing()) {
      if (!p.isAlive()) {
        throw new IllegalStateException("redis-server exited: "
            + Files.readString(dir.resolve("redis.log")));
      }
      if (System.nanoTime() > deadline) {
        redis.close();
        throw new IllegalStateException("redis-server did not answer PING within 20 s");
      }
      p.waitFor(20, TimeUnit.MILLISECONDS); // a short pause between connection attempts
    }
    return redis;
  }

  /** The port it listens on. */
  public int port() {
    return port;
  }

  /** Its URL, {@code redis://127.0.0.1:<port>}. */
  public String url() {
    return "redis://127.0.0.1:" + port;
  }

  private boolean answersPing() {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 200);
      s.setSoTimeout(500);
      s.getOutputStream().write("PING\r\n".getBytes(StandardCharsets.US_ASCII));
      byte[] buf = new byte[7];
      int n = s.getInputStream().read(buf);
      return n > 0 && new String(buf, 0, n, StandardCharsets.US_ASCII).startsWith("+PONG");
    } catch (IOException e) {
      return false;
    }
  }

  /** Kills the server and deletes its directory. */
  @Override
  public void close() {
    process.destroy();
    try {
      if (!process.waitFor(5, TimeUnit.SECONDS)) {
        process.destroyForcibly();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      process.destroyForcibly();
    }
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
    } catch (IOException e) {
      // a temp directory left behind is not worth failing the benchmark for
    }
  }
}
