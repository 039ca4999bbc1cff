package io.necrostack.redis;

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
 * A private {@code redis-server} for one test class, on a free loopback port, never the
 * shared one on 6379. Register it with {@code @RegisterExtension static}; it starts before
 * the class's tests and is killed after them.
 */
final class RedisServer implements BeforeAllCallback, AfterAllCallback {
  private final boolean aof;
  private final String password;
  private final boolean tls;
  private Process process;
  private Path dir;
  private int port;
  private int tlsPort;

  private RedisServer(boolean aof, String password, boolean tls) {
    this.aof = aof;
    this.password = password;
    this.tls = tls;
  }

  /** A server without persistence. */
  static RedisServer ephemeral() {
    return new RedisServer(false, null, false);
  }

  /** A server with AOF, {@code appendfsync always}: survives a kill and restart. */
  static RedisServer durable() {
    return new RedisServer(true, null, false);
  }

  /** A server that requires a password for the default user. */
  static RedisServer withPassword(String password) {
    return new RedisServer(false, password, false);
  }

  /**
   * A server that also listens with TLS, with a self-signed certificate for 127.0.0.1 made
   * by {@code openssl} (the plain port stays open for the readiness check).
   */
  static RedisServer withTls() {
    return new RedisServer(false, null, true);
  }

  @Override
  public void beforeAll(ExtensionContext context) throws Exception {
    dir = Files.createTempDirectory("necrostack-redis-test");
    port = freePort();
    if (tls) {
      tlsPort = freePort();
      makeCertificate();
    }
    start();
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

  /** The self-signed certificate in PEM, for building a trust store. */
  Path certificate() {
    return dir.resolve("cert.pem");
  }

  /** The TLS URL, {@code rediss://127.0.0.1:<tls port>}. */
  String tlsUrl() {
    return "rediss://127.0.0.1:" + tlsPort;
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
