package io.necrostack.apps.cli;

import io.necrostack.apps.run.RunOptions;
import io.necrostack.apps.run.SpineHooks;
import io.necrostack.backend.Backend;
import io.necrostack.backend.BackendException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.function.BiFunction;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * The options shared by the apps ({@code seance}, {@code etl}): the backend, its Redis stream
 * and group, the time bound, and the metrics endpoint. Opens what they name around a run.
 */
final class ChainOptions {
  /** The time bound of a run on Redis when {@code --timeout} is not given, in seconds. */
  static final int DEFAULT_REDIS_TIMEOUT_SECONDS = 120;

  @Spec(Spec.Target.MIXEE)
  CommandSpec spec;

  @Option(
      names = "--backend",
      paramLabel = "BACKEND",
      defaultValue = "memory",
      converter = BackendChoice.Converter.class,
      description = "Where events wait between organs: memory, or a Redis server as"
          + " redis://[user:password@]host:port (rediss:// for TLS) to run the same chain"
          + " through Redis Streams (default: ${DEFAULT-VALUE}).")
  BackendChoice backend;

  @Option(
      names = "--stream",
      paramLabel = "KEY",
      description = "Redis only: the stream the chain runs through. Default: a stream of this"
          + " run's own, necrostack:<app>:<run id>, deleted when the run ends, so runs"
          + " sharing a server never handle each other's events (its dead letters are kept)."
          + " A stream given here is kept; do not share it with another app's consumers.")
  String stream;

  @Option(
      names = "--group",
      paramLabel = "NAME",
      description = "Redis only: the consumer group (default: necrostack).")
  String group;

  @Option(
      names = "--timeout",
      paramLabel = "SECONDS",
      description = "Fail (exit 1) if the chain has not finished after this many seconds; 0"
          + " for no bound. Default: " + DEFAULT_REDIS_TIMEOUT_SECONDS + " on Redis (a"
          + " Redis stream never runs dry, the app waits for its last organ), none in memory"
          + " (the run ends when the queue is empty).")
  Integer timeoutSeconds;

  @Option(
      names = "--metrics-port",
      paramLabel = "PORT",
      description = "Serve Prometheus metrics at http://<host>:PORT/metrics while the app"
          + " runs; 0 picks a free port. The address is printed on stderr.")
  Integer metricsPort;

  @Option(
      names = "--metrics-bind",
      paramLabel = "ADDR",
      defaultValue = "127.0.0.1",
      description = "With --metrics-port: the address to listen on (default: ${DEFAULT-VALUE},"
          + " this machine only; 0.0.0.0 for every interface, e.g. for a Prometheus server"
          + " elsewhere).")
  String metricsBind;

  @Option(
      names = "--metrics-linger",
      paramLabel = "SECONDS",
      defaultValue = "0",
      description = "With --metrics-port: keep serving this many seconds after the chain"
          + " finished, so a short demo can be scraped (default: ${DEFAULT-VALUE}).")
  int metricsLingerSeconds;

  /**
   * Opens the backend (and the metrics endpoint), runs {@code body}, then closes them.
   *
   * @param app the app's name, for a per-run stream and messages
   * @throws ParameterException for options that do not fit together (exit code 2)
   * @throws CommandFailedException if the backend cannot be opened (exit code 1)
   */
  <T> T run(String app, CliIo io, BiFunction<OpenedBackend, RunOptions, T> body) {
    validate();
    OpenedBackend opened;
    try {
      opened = backend.open(app, stream, group);
    } catch (BackendException e) {
      // The Redis backend's messages name the URL with its password redacted.
      throw new CommandFailedException(e.getMessage(), e);
    }
    boolean interrupted = false;
    // Closed after the backend (resources close in reverse order): a signal's hook waits for
    // the backend to be closed, its settles flushed, before the JVM exits.
    try (GracefulStop graceful = new GracefulStop(
            io, spec.name(), opened.isRedis() ? opened.description() : null);
        opened) {
      Duration timeout = Duration.ofSeconds(timeoutSeconds != null ? timeoutSeconds
          : opened.isRedis() ? DEFAULT_REDIS_TIMEOUT_SECONDS : 0);
      if (metricsPort == null) {
        return runOnce(body, opened, new RunOptions(timeout, graceful), graceful);
      }
      try (MetricsServer metrics = new MetricsServer(
          new InetSocketAddress(metricsBind, metricsPort), opened.isRedis(), io, spec.name())) {
        // Shutdown (Ctrl-C) during the linger: stop waiting and free the port.
        Thread hook = new Thread(metrics::close, "necrostack-metrics-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
          T result = runOnce(body, opened,
              new RunOptions(timeout, SpineHooks.all(graceful, metrics)), graceful);
          if (metricsLingerSeconds > 0) {
            opened.flush();
          }
          interrupted = metrics.linger(Duration.ofSeconds(metricsLingerSeconds));
          return result;
        } finally {
          removeHook(hook);
        }
      }
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt(); // restored once the backend is closed
      }
    }
  }

  /**
   * Runs the app once; a signal during the run makes it an {@link Interrupted} failure,
   * whatever the app made of its cut-short chain.
   */
  private static <T> T runOnce(BiFunction<OpenedBackend, RunOptions, T> body,
      OpenedBackend opened, RunOptions options, GracefulStop graceful) {
    T result;
    try {
      result = body.apply(opened, options);
    } catch (RuntimeException e) {
      if (graceful.signalled()) {
        throw interruptedRun(graceful, e);
      }
      throw e;
    }
    if (graceful.signalled()) {
      throw interruptedRun(graceful, null);
    }
    return result;
  }

  /**
   * The failure of a run a signal stopped: the chain did not finish, but nothing it pulled was
   * dropped. Exit code {@value GracefulStop#EXIT_INTERRUPTED}; {@link GracefulStop#close()}
   * prints its message.
   */
  private static CommandFailedException interruptedRun(
      GracefulStop graceful, RuntimeException cause) {
    return new CommandFailedException(graceful.report(), cause, GracefulStop.EXIT_INTERRUPTED,
        true);
  }

  private static void removeHook(Thread hook) {
    try {
      Runtime.getRuntime().removeShutdownHook(hook);
    } catch (IllegalStateException e) {
      // the JVM is already shutting down: the hook runs anyway
    }
  }

  private void validate() {
    boolean redis = backend instanceof BackendChoice.Redis;
    if (!redis && (stream != null || group != null)) {
      throw new ParameterException(spec.commandLine(),
          "--stream and --group apply to a Redis backend only (--backend redis://host:port)");
    }
    if (stream != null && stream.isBlank() || group != null && group.isBlank()) {
      throw new ParameterException(spec.commandLine(), "--stream and --group must not be blank");
    }
    if (timeoutSeconds != null && timeoutSeconds < 0) {
      throw new ParameterException(spec.commandLine(),
          "--timeout must be 0 (no bound) or a number of seconds, got " + timeoutSeconds);
    }
    if (metricsPort != null && (metricsPort < 0 || metricsPort > 65_535)) {
      throw new ParameterException(spec.commandLine(),
          "--metrics-port must be between 0 and 65535, got " + metricsPort);
    }
    if (metricsLingerSeconds < 0) {
      throw new ParameterException(spec.commandLine(),
          "--metrics-linger must not be negative, got " + metricsLingerSeconds);
    }
    if (metricsBind.isBlank()) {
      throw new ParameterException(spec.commandLine(), "--metrics-bind must not be blank");
    }
    if (metricsLingerSeconds > 0 && metricsPort == null) {
      throw new ParameterException(spec.commandLine(),
          "--metrics-linger needs --metrics-port");
    }
  }
}
