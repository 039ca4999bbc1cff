package io.necrostack.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
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
 * A private {@code redis-server} for tests, on a free loopback port (never the shared one on
 * 6379), in a scratch directory of its own.
 *
 * <p>Two ways to use it: register it with {@code @RegisterExtension static} and it starts
 * before the class's tests and is killed after them; or {@link #start()} and {@link #close()}
 * it yourself (a server that starts late, or one per test). {@link #kill()} is a SIGKILL, as a
 * crash; {@link #start()} again restarts on the same port and data directory, which with
 * {@link #durable()} (AOF, {@code appendfsync always}) keeps every acknowledged write. A
 * missing binary fails with a message saying how to install it.
 */
public final class RedisServer implements BeforeAllCallback, AfterAllCallback, AutoCloseable {
  private final boolean aof;
  private final String password;
  private final boolean tls;
  private final int port;
  private final int tlsPort;
  private Path dir;
  private Process process;

  private RedisServer(boolean aof, String password, boolean tls) {
    this.aof = aof;
    this.password = password;
    this.tls = tls;
    this.port = freePort();
    this.tlsPort = tls ? freePort() : 0;
  }

  /** A server without persistence, not started yet. */
  public static RedisServer ephemeral() {
    return new RedisServer(false, null, false);
  }

  /** A server with AOF and {@code appendfsync always}, not started yet: survives a kill. */
  public static RedisServer durable() {
    return new RedisServer(true, null, false);
  }

  /** A server that requires a password for the default user, not started yet. */
  public static RedisServer withPassword(String password) {
    return new RedisServer(false, password, false);
  }

  /**
   * A server that also listens with TLS, with a self-signed certificate for 127.0.0.1 made by
   * {@code openssl} (the plain port stays open for the readiness check), not started yet.
   */
  public static RedisServer withTls() {
    return new RedisServer(false, null, true);
  }

  @Override
  public void beforeAll(ExtensionContext context) throws Exception {
    start();
  }

  @Override
  public void afterAll(ExtensionContext context) throws Exception {
    close();
  }

  /** Starts (or restarts) the server on its port and data directory; returns this. */
  public RedisServer start() throws IOException, InterruptedException {
    if (dir == null) {
      dir = Files.createTempDirectory("necrostack-redis-test");
      if (tls) {
        makeCertificate();
      }
    }
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
    if (password != null) {
      cmd.addAll(List.of("--requirepass", password));
    }
    if (tls) {
      cmd.addAll(List.of("--tls-port", Integer.toString(tlsPort),
          "--tls-cert-file", dir.resolve("cert.pem").toString(),
          "--tls-key-file", dir.resolve("key.pem").toString(),
          "--tls-ca-cert-file", dir.resolve("cert.pem").toString(),
          "--tls-auth-clients", "no"));
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

  private void makeCertificate() throws IOException, InterruptedException {
    Process p;
    try {
      p = new ProcessBuilder("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
          "-keyout", dir.resolve("key.pem").toString(),
          "-out", dir.resolve("cert.pem").toString(),
          "-days", "2", "-subj", "/CN=localhost",
          "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost")
          .redirectErrorStream(true)
          .redirectOutput(dir.resolve("openssl.log").toFile())
          .start();
    } catch (IOException e) {
      throw new IllegalStateException("openssl not found on PATH: apt-get install openssl", e);
    }
    if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IllegalStateException("openssl failed: "
          + Files.readString(dir.resolve("openssl.log")));
    }
  }

  /** Kills the server at once (SIGKILL), as a crash would. */
  public void kill() throws InterruptedException {
    if (process != null && process.isAlive()) {
      process.destroyForcibly();
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        throw new IllegalStateException("redis-server survived SIGKILL for 10 s");
      }
    }
  }

  /** Whether the server process is running. */
  public boolean isAlive() {
    return process != null && process.isAlive();
  }

  /** Kills the server and deletes its data directory. */
  @Override
  public void close() throws Exception {
    kill();
    if (dir != null) {
      try (Stream<Path> files = Files.walk(dir)) {
        files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  /** The URL of this server, with the password if it has one. */
  public String url() {
    return password == null
        ? "redis://127.0.0.1:" + port
        : "redis://:" + password + "@127.0.0.1:" + port;
  }

  /** The TLS URL, {@code rediss://127.0.0.1:<tls port>} (servers made by {@link #withTls()}). */
  public String tlsUrl() {
    return "rediss://127.0.0.1:" + tlsPort;
  }

  /** The self-signed certificate in PEM, for building a trust store ({@link #withTls()}). */
  public Path certificate() {
    return dir.resolve("cert.pem");
  }

  /** The scratch directory, which lives as long as the server (null before the start). */
  public Path dir() {
    return dir;
  }

  /** The plain port. */
  public int port() {
    return port;
  }

  /** A loopback port free at the time of the call (for a server that starts late). */
  public static int freePort() {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      socket.setReuseAddress(true);
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException("no free loopback port", e);
    }
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
      return readLine(s.getInputStream()).startsWith("+PONG");
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
}
