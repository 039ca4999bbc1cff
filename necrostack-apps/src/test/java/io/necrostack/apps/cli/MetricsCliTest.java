package io.necrostack.apps.cli;

import io.necrostack.testing.RedisServer;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.necrostack.apps.cli.CliTest.Run;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/** {@code --metrics-port}: the apps serve Prometheus metrics while they run. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class MetricsCliTest {
  @RegisterExtension static final RedisServer server = RedisServer.ephemeral();

  private static final Pattern SERVING =
      Pattern.compile("serving metrics at (http://[^\\s/]+:\\d+/metrics)");
  private static final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  @Test
  void theSeanceServesItsMetricsWhileItLingers() throws Exception {
    try (Background run = Background.start("seance", "--seed", "5", "--metrics-port", "0",
        "--metrics-linger", "50")) {
      URI uri = run.awaitMetricsUri();
      // Scrape during the linger, when the chain is known to be finished.
      await().atMost(Duration.ofSeconds(30)).until(() -> run.err().contains("serving metrics for"));

      String body = scrape(uri);

      assertThat(body.lines()).contains("necrostack_events_processed_total 4.0");
      assertThat(body).contains("necrostack_handling_seconds_count{event_type=\"SUMMON_RITUAL\","
          + "organ=\"Summoner\",outcome=\"success\"} 1");
      // Interrupting ends the linger early, so the test need not wait it out.
      assertThat(run.stop()).isZero();
      assertThat(run.out()).contains("(seed 5: the same seed summons the same séance)");
    }
  }

  @Test
  void theEtlOnRedisServesTheRedisFiguresToo() throws Exception {
    try (Background run = Background.start("etl", "--chunk-size", "4", "--backend",
        server.url(), "--metrics-port", "0", "--metrics-linger", "50")) {
      URI uri = run.awaitMetricsUri();
      await().atMost(Duration.ofSeconds(30)).until(() -> run.err().contains("serving metrics for"));

      String body = scrape(uri);

      // 6 chunks: start, 5 next-chunk requests, and 6 of each of the three chunk stages.
      assertThat(body.lines()).contains("necrostack_events_processed_total 24.0");
      assertThat(body.lines())
          .anySatisfy(l -> assertThat(l).startsWith("necrostack_backend_stream_length "))
          .anySatisfy(l -> assertThat(l).startsWith("necrostack_backend_group_lag "))
          .contains("necrostack_backend_pending 0.0")
          .contains("necrostack_backend_dead_letters 0.0");
      assertThat(run.stop()).isZero();
      assertThat(run.out()).contains("21 rows read: 19 loaded, 2 rejected (6 chunks)");
    }
    RedisClient client = RedisClient.create(server.url());
    try (StatefulRedisConnection<String, String> connection = client.connect()) {
      assertThat(connection.sync().keys("necrostack:etl:*"))
          .as("the run's stream is deleted after an interrupted linger too")
          .isEmpty();
    } finally {
      client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
  }

  /**
   * By default the endpoint listens on loopback only: scraped at 127.0.0.1, refused at this
   * machine's other addresses. {@code --metrics-bind 0.0.0.0} opens it on every interface.
   */
  @Test
  void theEndpointListensOnLoopbackUnlessABindAddressIsGiven() throws Exception {
    Optional<InetAddress> external = externalAddress();
    try (Background run = Background.start("seance", "--seed", "5", "--metrics-port", "0",
        "--metrics-linger", "50")) {
      URI uri = run.awaitMetricsUri();
      assertThat(uri.getHost()).isEqualTo("127.0.0.1");
      assertThat(scrape(uri)).contains("necrostack_events_processed_total");
      external.ifPresent(address -> assertThat(connects(address, uri.getPort()))
          .as("reachable at %s", address).isFalse());
      assertThat(run.stop()).isZero();
    }
    try (Background run = Background.start("seance", "--seed", "5", "--metrics-port", "0",
        "--metrics-bind", "0.0.0.0", "--metrics-linger", "50")) {
      URI uri = run.awaitMetricsUri();
      assertThat(uri.getHost()).isEqualTo("localhost");
      assertThat(scrape(uri)).contains("necrostack_events_processed_total");
      external.ifPresent(address -> assertThat(connects(address, uri.getPort()))
          .as("reachable at %s", address).isTrue());
      assertThat(run.stop()).isZero();
    }
  }

  @Test
  void aBlankBindAddressIsAUsageError() {
    Run run = Run.of("seance", "--metrics-port", "0", "--metrics-bind", " ");

    assertThat(run.code()).isEqualTo(2);
    assertThat(run.err()).contains("--metrics-bind must not be blank");
  }

  /** An IPv4 address of this machine other than loopback, if it has one. */
  private static Optional<InetAddress> externalAddress() throws IOException {
    return NetworkInterface.networkInterfaces()
        .flatMap(NetworkInterface::inetAddresses)
        .filter(a -> a instanceof Inet4Address && !a.isLoopbackAddress())
        .findFirst();
  }

  private static boolean connects(InetAddress address, int port) {
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress(address, port), 5_000);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  @Test
  void aPortInUseFailsTheRunWithExitCode1() throws IOException {
    try (ServerSocket taken = new ServerSocket(0)) {
      Run run = Run.of("seance", "--seed", "1", "--metrics-port",
          Integer.toString(taken.getLocalPort()));

      assertThat(run.code()).isEqualTo(1);
      assertThat(run.err())
          .startsWith("necrostack seance: cannot serve metrics on 127.0.0.1 port "
              + taken.getLocalPort());
    }
  }

  @Test
  void lingerWithoutAPortIsAUsageError() {
    Run run = Run.of("seance", "--metrics-linger", "5");

    assertThat(run.code()).isEqualTo(2);
    assertThat(run.err()).contains("--metrics-linger needs --metrics-port");
  }

  @Test
  void anOutOfRangePortIsAUsageError() {
    Run run = Run.of("etl", "--metrics-port", "70000");

    assertThat(run.code()).isEqualTo(2);
    assertThat(run.err()).contains("--metrics-port must be between 0 and 65535, got 70000");
  }

  private static String scrape(URI uri) throws IOException, InterruptedException {
    HttpResponse<String> response = http.send(
        HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10)).GET().build(),
        HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    assertThat(response.statusCode()).isEqualTo(200);
    return response.body();
  }

  /** The command line running on a thread of its own, its streams readable while it runs. */
  private static final class Background implements AutoCloseable {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();
    private final AtomicInteger code = new AtomicInteger(-1);
    private final Thread thread;

    private Background(String... args) {
      CliIo io = new CliIo(new PrintStream(out, true, StandardCharsets.UTF_8),
          new PrintStream(err, true, StandardCharsets.UTF_8), false);
      thread = new Thread(() -> code.set(Cli.execute(io, args)), "cli-under-test");
    }

    static Background start(String... args) {
      Background b = new Background(args);
      b.thread.start();
      return b;
    }

    String out() {
      return out.toString(StandardCharsets.UTF_8);
    }

    String err() {
      return err.toString(StandardCharsets.UTF_8);
    }

    URI awaitMetricsUri() {
      List<URI> found = new ArrayList<>();
      await().atMost(Duration.ofSeconds(30)).until(() -> {
        Matcher m = SERVING.matcher(err());
        return m.find() && found.add(URI.create(m.group(1)));
      });
      return found.get(0);
    }

    /** Ends the linger and returns the exit code. */
    int stop() throws InterruptedException {
      thread.interrupt();
      thread.join(TimeUnit.SECONDS.toMillis(30));
      assertThat(thread.isAlive()).as("the command line ended").isFalse();
      return code.get();
    }

    @Override
    public void close() throws InterruptedException {
      if (thread.isAlive()) {
        thread.interrupt();
        thread.join(TimeUnit.SECONDS.toMillis(30));
      }
    }
  }
}
