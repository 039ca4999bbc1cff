package io.necrostack.redis;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisNoScriptException;
import io.lettuce.core.RedisURI;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.SslOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.event.connection.ConnectionActivatedEvent;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.Delay;
import io.necrostack.backend.BackendException;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import reactor.core.Disposable;

/**
 * One Lettuce client with the two connections a backend needs: one for blocking reads, one
 * for every other command, so a blocked {@code XREADGROUP} never stalls acks and writes.
 *
 * <p>Both connections reject commands while disconnected instead of buffering them, bound
 * their queues, and never replay a command after a reconnect: a replayed {@code XADD} or
 * script would write its events twice. A command that fails that way surfaces as an
 * exception; the entry it concerned stays pending and is claimed again later.
 */
final class RedisConnections implements AutoCloseable {
  private final RedisBackendConfig config;
  private final ClientResources resources;
  private final RedisClient client;
  /** Replaced by {@link #resetReader()}; read by the pulling thread and close(). */
  private volatile StatefulRedisConnection<String, String> reader;
  /** The reader was closed by a reset that could not connect a new one. */
  private volatile boolean readerClosed;
  private final StatefulRedisConnection<String, String> commands;
  private final Map<String, String> shas = new ConcurrentHashMap<>();
  // Activations are published asynchronously; the first two are the initial connections.
  private final LongAdder activations = new LongAdder();
  private final Disposable eventSubscription;

  /**
   * Connects both connections.
   *
   * @throws BackendException with the redacted URL if Redis cannot be reached or refuses the
   *     credentials
   */
  RedisConnections(RedisBackendConfig config) {
    this.config = config;
    RedisURI uri;
    try {
      uri = RedisURI.create(config.url());
    } catch (RuntimeException e) {
      // Lettuce's message may quote the URL, password included: drop it.
      throw new BackendException("invalid Redis URL " + config.redactedUrl());
    }
    uri.setTimeout(config.commandTimeout());
    // Lettuce's default reconnect delay grows to 30 s: after a long outage a Spine would sit
    // idle that long once Redis is back. Cap it at 1 s; the resources are ours to shut down.
    this.resources = ClientResources.builder()
        .reconnectDelay(() -> Delay.exponential(Duration.ofMillis(10), Duration.ofSeconds(1),
            2, TimeUnit.MILLISECONDS))
        .build();
    this.client = RedisClient.create(resources, uri);
    ClientOptions.Builder options =
        ClientOptions.builder()
            .autoReconnect(true)
            .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
            .replayFilter(command -> true)
            .requestQueueSize(config.requestQueueSize())
            .timeoutOptions(TimeoutOptions.enabled(config.commandTimeout()));
    if (config.trustStore() != null) {
      char[] password = config.trustStorePassword();
      options.sslOptions(
          SslOptions.builder()
              .jdkSslProvider()
              .truststore(config.trustStore().toFile(), password == null ? null
                  : new String(password))
              .build());
    }
    client.setOptions(options.build());
    this.eventSubscription =
        resources.eventBus().get()
            .filter(ConnectionActivatedEvent.class::isInstance)
            .subscribe(e -> activations.increment(), error -> {
              // the bus ends with the client's shutdown; nothing to count after that
            });
    StatefulRedisConnection<String, String> r = null;
    try {
      r = client.connect();
      this.reader = r;
      this.commands = client.connect();
    } catch (RuntimeException e) {
      if (r != null) {
        r.closeAsync();
      }
      eventSubscription.dispose();
      shutdownQuietly();
      throw new BackendException(
          "cannot connect to Redis at " + config.redactedUrl() + ": " + describe(e));
    }
  }

  /** A one-line reason for a connection failure, free of any credentials. */
  static String describe(Throwable e) {
    Throwable t = e;
    String best = null;
    while (t != null) {
      String m = t.getMessage();
      if (m != null && (m.startsWith("WRONGPASS") || m.startsWith("NOAUTH")
          || m.contains("invalid password") || m.startsWith("ERR AUTH"))) {
        return "authentication failed (" + m + ")";
      }
      if (best == null && m != null) {
        best = t.getClass().getSimpleName() + ": " + m;
      }
      t = t.getCause();
    }
    return best == null ? e.getClass().getSimpleName() : best;
  }

  /**
   * The reader connection; a new one if the last {@link #resetReader()} could not connect.
   *
   * @throws BackendException if a new one is needed and cannot be made
   */
  StatefulRedisConnection<String, String> reader() {
    if (readerClosed) {
      connectReader();
    }
    return reader;
  }

  /**
   * Closes the reader connection and opens a new one. For a read that failed mid-reply (a
   * value too large for the client's buffers, a protocol error, a client timeout): the old
   * connection may still be receiving the rest of that reply, and every later read on it
   * would fail too. Closed first: while the rest of a value too large for the direct memory
   * arrives, each attempt to buffer it stalls the I/O thread (the JDK waits for memory), and
   * a new connection on that thread would not get through.
   *
   * @throws BackendException if no new connection can be made; {@link #reader()} tries again
   */
  synchronized void resetReader() {
    readerClosed = true;
    try {
      reader.closeAsync().get(2, TimeUnit.SECONDS);
    } catch (Exception e) {
      // closing anyway: the channel is abandoned
    }
    connectReader();
  }

  private synchronized void connectReader() {
    if (!readerClosed) {
      return;
    }
    try {
      reader = client.connect();
    } catch (RuntimeException e) {
      throw new BackendException(
          "cannot reconnect the reader to Redis at " + config.redactedUrl() + ": " + describe(e));
    }
    readerClosed = false;
  }

  RedisCommands<String, String> sync() {
    return commands.sync();
  }

  StatefulRedisConnection<String, String> commands() {
    return commands;
  }

  long reconnections() {
    return Math.max(0, activations.sum() - 2);
  }

  /**
   * Runs a script by its SHA, loading it first when the server does not know it (first use,
   * or after a restart or {@code SCRIPT FLUSH}).
   */
  <T> T eval(String script, ScriptOutputType type, String[] keys, String... args) {
    RedisCommands<String, String> sync = commands.sync();
    String sha = shas.computeIfAbsent(script, s -> sync.scriptLoad(s));
    try {
      return sync.evalsha(sha, type, keys, args);
    } catch (RedisNoScriptException e) {
      shas.put(script, sync.scriptLoad(script));
      return sync.evalsha(shas.get(script), type, keys, args);
    } catch (RedisCommandExecutionException e) {
      if (e.getMessage() != null && e.getMessage().startsWith("NOSCRIPT")) {
        shas.put(script, sync.scriptLoad(script));
        return sync.evalsha(shas.get(script), type, keys, args);
      }
      throw e;
    }
  }

  /** The cached SHA of a script, loading it if needed. */
  String sha(String script) {
    return shas.computeIfAbsent(script, s -> commands.sync().scriptLoad(s));
  }

  /** Forgets a script's SHA after the server answered NOSCRIPT. */
  void forget(String script) {
    shas.remove(script);
  }

  /** The bound on a blocking read's wait on the client: block time plus command timeout. */
  Duration readTimeout(Duration block) {
    return block.plus(config.commandTimeout());
  }

  @Override
  public void close() {
    eventSubscription.dispose();
    try {
      reader.close();
    } catch (RuntimeException ignored) {
      // closing anyway
    }
    try {
      commands.close();
    } catch (RuntimeException ignored) {
      // closing anyway
    }
    shutdownQuietly();
  }

  private void shutdownQuietly() {
    try {
      client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    } catch (RuntimeException ignored) {
      // nothing more to release
    }
    try {
      resources.shutdown(0, 2, TimeUnit.SECONDS);
    } catch (RuntimeException ignored) {
      // nothing more to release
    }
  }
}
