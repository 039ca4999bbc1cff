package io.necrostack.micrometer.prometheus;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Serves a {@link PrometheusMeterRegistry} scrape over HTTP at {@value #PATH}, with the JDK's
 * built-in HTTP server (no web framework needed).
 *
 * <p>For a Spine, one line once it is built: {@code
 * PrometheusEndpoint.start(metrics.monitor(spine), port)} where {@code metrics} is the {@link
 * io.necrostack.micrometer.NecroStackMetrics} registered as the Spine's observer (or {@code new
 * NecroStackMetrics()} for the Spine-level meters alone). Close the endpoint to free the port:
 * the server's dispatcher thread is not a daemon and keeps the JVM alive until then.
 *
 * <p>GET and HEAD on {@value #PATH} answer the Prometheus text format 0.0.4; other methods get
 * 405, other paths 404. Scrapes are served one at a time on a daemon thread.
 */
public final class PrometheusEndpoint implements AutoCloseable {

  /** The path of the scrape. */
  public static final String PATH = "/metrics";

  /** The content type of the text exposition format the endpoint writes. */
  static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

  private final HttpServer server;
  private final ExecutorService executor;
  private final PrometheusMeterRegistry registry;
  private final boolean ownsRegistry;

  private PrometheusEndpoint(HttpServer server, ExecutorService executor,
      PrometheusMeterRegistry registry, boolean ownsRegistry) {
    this.server = server;
    this.executor = executor;
    this.registry = registry;
    this.ownsRegistry = ownsRegistry;
  }

  /**
   * Serves the registry's scrape on every interface at the port.
   *
   * @param port the TCP port; 0 picks a free one, see {@link #port()}
   * @throws UncheckedIOException if the port cannot be bound
   */
  public static PrometheusEndpoint start(PrometheusMeterRegistry registry, int port) {
    return start(registry, new InetSocketAddress(port));
  }

  /**
   * Serves the registry's scrape at the address (e.g. loopback only).
   *
   * @throws UncheckedIOException if the address cannot be bound
   */
  public static PrometheusEndpoint start(
      PrometheusMeterRegistry registry, InetSocketAddress address) {
    return start(registry, address, false);
  }

  private static PrometheusEndpoint start(
      PrometheusMeterRegistry registry, InetSocketAddress address, boolean ownsRegistry) {
    Objects.requireNonNull(registry, "registry == null");
    Objects.requireNonNull(address, "address == null");
    HttpServer server;
    try {
      server = HttpServer.create(address, 0);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot serve metrics on " + address + ": " + e, e);
    }
    ExecutorService executor =
        Executors.newSingleThreadExecutor(
            r -> {
              Thread t = new Thread(r, "necrostack-metrics");
              t.setDaemon(true);
              return t;
            });
    server.setExecutor(executor);
    server.createContext("/", exchange -> serve(exchange, registry));
    server.start();
    return new PrometheusEndpoint(server, executor, registry, ownsRegistry);
  }

  /**
   * Binds the meters to a new {@link PrometheusMeterRegistry} and serves it on every interface
   * at the port; see {@link #registry()} to add more meters. Closing the endpoint closes that
   * registry.
   *
   * @param port the TCP port; 0 picks a free one
   * @throws UncheckedIOException if the port cannot be bound
   */
  public static PrometheusEndpoint start(MeterBinder binder, int port) {
    return start(binder, new InetSocketAddress(port));
  }

  /**
   * Binds the meters to a new {@link PrometheusMeterRegistry} and serves it at the address
   * (e.g. loopback only); closing the endpoint closes that registry.
   *
   * @throws UncheckedIOException if the address cannot be bound
   */
  public static PrometheusEndpoint start(MeterBinder binder, InetSocketAddress address) {
    Objects.requireNonNull(binder, "binder == null");
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    binder.bindTo(registry);
    try {
      return start(registry, address, true);
    } catch (RuntimeException e) {
      registry.close();
      throw e;
    }
  }


  private static void serve(HttpExchange exchange, PrometheusMeterRegistry registry)
      throws IOException {
    try (exchange) {
      if (!PATH.equals(exchange.getRequestURI().getPath())) {
        exchange.sendResponseHeaders(404, -1);
        return;
      }
      String method = exchange.getRequestMethod();
      boolean head = "HEAD".equals(method);
      if (!head && !"GET".equals(method)) {
        exchange.getResponseHeaders().set("Allow", "GET, HEAD");
        exchange.sendResponseHeaders(405, -1);
        return;
      }
      byte[] body = registry.scrape().getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().set("Content-Type", CONTENT_TYPE);
      if (head) {
        exchange.sendResponseHeaders(200, -1);
        return;
      }
      exchange.sendResponseHeaders(200, body.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
    }
  }

  /** The port the endpoint listens on (the chosen one when started with port 0). */
  public int port() {
    return server.getAddress().getPort();
  }

  /** The address the endpoint listens on (a wildcard address means every interface). */
  public InetSocketAddress address() {
    return server.getAddress();
  }

  /**
   * The scrape address as seen from this host: {@code http://localhost:9464/metrics} when
   * listening on every interface, else the address listened on, e.g. {@code
   * http://127.0.0.1:9464/metrics}.
   */
  public URI uri() {
    InetAddress bound = server.getAddress().getAddress();
    String host = bound == null || bound.isAnyLocalAddress() ? "localhost"
        : bound instanceof Inet6Address ? "[" + bound.getHostAddress() + "]"
        : bound.getHostAddress();
    return URI.create("http://" + host + ":" + port() + PATH);
  }

  /** The registry served. */
  public PrometheusMeterRegistry registry() {
    return registry;
  }

  /**
   * Stops serving at once and frees the port; closes the registry if the endpoint made it.
   * Safe to call more than once.
   */
  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
    if (ownsRegistry) {
      registry.close();
    }
  }
}
