package io.necrostack.apps.cli;

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
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Copied from necrostack-redis's test sources ({@code io.necrostack.redis.RedisServer}), whose
 * test classes are not shared between modules; trimmed to what the apps' tests use (no AOF,
 * no TLS). Keep the two in step.
 *
 * <p>A private {@code redis-server} for one test class, on a free loopback port, never the
 * shared one on 6379. Register it with {@code @RegisterExtension static}; it starts before
 * the class's tests and is killed after them.
 */
final class RedisServer implements BeforeAllCallback, AfterAllCallback {
  private final String password;
  private Process process;
  private Path dir;
  private int port;

  private RedisServer(String password) {
    this.password = password;
  }

  /** A server without persistence. */
  static RedisServer ephemeral() {
    return new RedisServer(null);
  }

  /** A server that requires a password for the default user. */
  static RedisServer withPassword(String password) {
    return new RedisServer(password);
  }

  @Override
  public void beforeAll(ExtensionContext context) throws Exception {
    dir = Files.createTempDirectory("necrostack-redis-test");
    port = freePort();
    start();
  }

  /** A scratch directory that lives as long as the server. */
  Path dir() {
    return dir;
  }

  @Override
  public void afterAll(ExtensionContext context) throws Exception {
    kill();
    if (dir != null) {
      try (Stream<Path> files = Files.walk(dir)) {
        files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  /** Starts (or restarts) the server on the same port and data directory. */
  void start() throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of(
        "redis-server", "--port", Integer.toString(port), "--bind", "127.0.0.1",
        "--save", "", "--dir", dir.toString(), "--daemonize", "no", "--loglevel", "warning"));
    cmd.addAll(List.of("--appendonly", "no"));
    if (password != null) {
      cmd.addAll(List.of("--requirepass", password));
    }
    ProcessBuilder pb = new ProcessBuilder(cmd)
        .redirectErrorStream(true)
        .redirectOutput(dir.resolve("redis.log").toFile());
    try {
      process = pb.start();
    } catch (IOException e) {
      throw new IllegalStateException(
          "redis-server not found on PATH: install it (apt-get install redis-server)", e);
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (!answersPing()) {
      if (!process.isAlive()) {
        throw new IllegalStateException("redis-server exited at start; log: "
            + Files.readString(dir.resolve("redis.log")));
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("redis-server did not answer PING within 20 s");
      }
      // Polling a process we just started: a short wait between connection attempts.
      process.waitFor(20, TimeUnit.MILLISECONDS);
    }
  }

  /** Kills the server at once (SIGKILL), as a crash would. */
  void kill() throws InterruptedException {
    if (process != null && process.isAlive()) {
      process.destroyForcibly();
      process.waitFor(10, TimeUnit.SECONDS);
    }
  }

  /** The URL of this server, with the password if it has one. */
  String url() {
    return password == null
        ? "redis://127.0.0.1:" + port
        : "redis://:" + password + "@127.0.0.1:" + port;
  }

  /** A free loopback port with nothing listening, for unreachable-server tests. */
  static int unusedPort() throws IOException {
    return freePort();
  }

  int port() {
    return port;
  }

  private boolean answersPing() {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 200);
      s.setSoTimeout(1000);
      OutputStream out = s.getOutputStream();
      if (password != null) {
        out.write(("AUTH " + password + "\r\n").getBytes(StandardCharsets.UTF_8));
        readLine(s.getInputStream());
      }
      out.write("PING\r\n".getBytes(StandardCharsets.UTF_8));
      out.flush();
      String line = readLine(s.getInputStream());
      return line.startsWith("+PONG");
    } catch (IOException e) {
      return false;
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

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      socket.setReuseAddress(true);
      return socket.getLocalPort();
    }
  }
}
