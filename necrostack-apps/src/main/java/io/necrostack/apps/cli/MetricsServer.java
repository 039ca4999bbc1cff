package io.necrostack.apps.cli;

import io.necrostack.apps.run.SpineHooks;
import io.necrostack.micrometer.NecroStackMetrics;
import io.necrostack.micrometer.prometheus.PrometheusEndpoint;
import io.necrostack.core.Spine;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Serves a run's metrics on a Prometheus endpoint ({@code --metrics-port}): registers the
 * metrics observer on the Spine and starts the endpoint once the Spine exists.
 */
final class MetricsServer implements SpineHooks, AutoCloseable {
  /** The Redis health figures, declared so their gauges exist even while Redis is down. */
  static final String[] REDIS_DETAILS = {"stream_length", "group_lag", "pending", "dead_letters"};

  private final InetSocketAddress address;
  private final CliIo io;
  private final String command;
  private final NecroStackMetrics metrics;
  private final CountDownLatch closed = new CountDownLatch(1);
  private PrometheusEndpoint endpoint;

  /**
   * @param address where to listen; port 0 for a free one (printed on stderr)
   * @param redis whether the backend is Redis, whose health figures become gauges
   */
  MetricsServer(InetSocketAddress address, boolean redis, CliIo io, String command) {
    this.address = address;
    this.io = io;
    this.command = command;
    this.metrics = redis
        ? NecroStackMetrics.builder().backendDetails(REDIS_DETAILS).build()
        : new NecroStackMetrics();
  }

  @Override
  public void configure(Spine.Builder builder) {
    builder.observer(metrics);
  }

  @Override
  public void built(Spine spine) {
    try {
      endpoint = PrometheusEndpoint.start(metrics.monitor(spine), address);
    } catch (UncheckedIOException e) {
      throw new CommandFailedException("cannot serve metrics on " + describe(address) + ": "
          + e.getCause().getMessage(), e);
    }
    // stderr: stdout carries only the app's own output. Port 0 is resolved here.
    io.err().println("necrostack " + command + ": serving metrics at " + endpoint.uri());
    io.err().flush();
  }

  /**
   * Keeps serving for a while after the chain finished, so a short demo can be scraped.
   * Returns early if the server is closed (by a shutdown hook on Ctrl-C) or the thread is
   * interrupted.
   *
   * @return true if an interrupt ended the wait; the interrupt status is then cleared, so the
   *     caller can still close the backend (Redis commands fail on an interrupted thread) and
   *     must restore it afterwards
   */
  boolean linger(Duration linger) {
    if (endpoint == null || linger.isZero()) {
      return false;
    }
    io.err().println("necrostack " + command + ": the chain is finished; serving metrics for "
        + linger.toSeconds() + " s more");
    io.err().flush();
    try {
      // Not synchronisation: the wait is the feature. close() ends it early.
      closed.await(linger.toNanos(), TimeUnit.NANOSECONDS);
      return false;
    } catch (InterruptedException e) {
      return true;
    }
  }

  private static String describe(InetSocketAddress address) {
    return (address.isUnresolved() ? address.getHostString() + " (unknown host)"
        : address.getHostString()) + " port " + address.getPort();
  }

  @Override
  public void close() {
    closed.countDown();
    if (endpoint != null) {
      endpoint.close();
    }
  }
}
