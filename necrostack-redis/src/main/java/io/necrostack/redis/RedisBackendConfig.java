package io.necrostack.redis;

import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Settings of a {@link RedisBackend}: where Redis is, which stream and group to use, and how
 * reading, recovery and dead-lettering behave.
 *
 * <p>Build one with {@link #builder()}; every setting has a named default ({@code DEFAULT_*}).
 * {@link Builder#build()} validates every setting and reports all problems at once. Instances
 * are immutable. {@link #toString()} never shows the password.
 */
public final class RedisBackendConfig {
  /** Default Redis URL: a local server without password. */
  public static final String DEFAULT_URL = "redis://127.0.0.1:6379";

  /** Default stream key, shared with the Python original. */
  public static final String DEFAULT_STREAM = "necrostack:events";

  /** Default consumer group, shared with the Python original. */
  public static final String DEFAULT_GROUP = "necrostack";

  /** Default most entries read by one {@code XREADGROUP} or claimed by one claim round. */
  public static final int DEFAULT_BATCH_SIZE = 256;

  /**
   * The largest batch size: every script that settles or writes a batch then passes a bounded
   * number of values to each Redis call (Lua's {@code unpack} takes at most about 8,000).
   */
  public static final int MAX_BATCH_SIZE = 4_096;

  /**
   * Default byte budget of one read, in bytes of entries (field names and values): 2 MiB. A
   * read keeps entries up to it and holds back the rest to read again later; a read-ahead gets
   * what the pull before it left.
   */
  public static final long DEFAULT_MAX_READ_BYTES = 2L * 1024 * 1024;

  /** The smallest byte budget of a read: 64 KiB. */
  public static final long MIN_MAX_READ_BYTES = 64L * 1024;

  /** Default longest {@code BLOCK} of one read; shorter when a pull asks for less. */
  public static final Duration DEFAULT_BLOCK_TIME = Duration.ofSeconds(1);

  /** Default client-side timeout of one command; must exceed the block time. */
  public static final Duration DEFAULT_COMMAND_TIMEOUT = Duration.ofSeconds(10);

  /** Default idle time after which another consumer's pending entry may be claimed. */
  public static final Duration DEFAULT_CLAIM_IDLE_TIME = Duration.ofSeconds(30);

  /** Default period between two claim rounds ({@code XAUTOCLAIM}). */
  public static final Duration DEFAULT_CLAIM_INTERVAL = Duration.ofSeconds(5);

  /** Default number of deliveries after which an entry is dead-lettered instead. */
  public static final int DEFAULT_MAX_DELIVERIES = 3;

  /** Stream length bound meaning "never trim"; also the default of the dead-letter stream. */
  public static final long NO_TRIMMING = 0;

  /** Default time acks and commits keep retrying while Redis is unreachable. */
  public static final Duration DEFAULT_RETRY_TIME = Duration.ofSeconds(10);

  /** Default period between two moves of due delayed entries back into the stream. */
  public static final Duration DEFAULT_DELAYED_POLL_INTERVAL = Duration.ofMillis(250);

  /** Default bound on commands Lettuce queues per connection. */
  public static final int DEFAULT_REQUEST_QUEUE_SIZE = 65_536;

  private final String url;
  private final String stream;
  private final String group;
  private final String consumer;
  private final int batchSize;
  private final Duration blockTime;
  private final Duration commandTimeout;
  private final Duration claimIdleTime;
  private final Duration claimInterval;
  private final int maxDeliveries;
  private final String deadLetterStream;
  private final String delayedKey;
  private final Duration delayedPollInterval;
  private final long maxLength;
  private final long deadLetterMaxLength;
  private final long maxReadBytes;
  private final int requestQueueSize;
  private final Duration retryTime;
  private final boolean batchSettles;
  private final boolean readAhead;
  private final Path trustStore;
  private final char[] trustStorePassword;

  private RedisBackendConfig(Builder b) {
    this.url = b.url;
    this.stream = b.stream;
    this.group = b.group;
    this.consumer = b.consumer != null ? b.consumer : defaultConsumerName();
    this.batchSize = b.batchSize;
    this.blockTime = b.blockTime;
    this.commandTimeout = b.commandTimeout;
    this.claimIdleTime = b.claimIdleTime;
    this.claimInterval = b.claimInterval;
    this.maxDeliveries = b.maxDeliveries;
    this.deadLetterStream = b.deadLetterStream != null ? b.deadLetterStream : b.stream + ":dlq";
    this.delayedKey = b.delayedKey != null ? b.delayedKey : b.stream + ":delayed";
    this.delayedPollInterval = b.delayedPollInterval;
    this.maxLength = b.maxLength;
    this.deadLetterMaxLength = b.deadLetterMaxLength;
    this.maxReadBytes = b.maxReadBytes;
    this.requestQueueSize = b.requestQueueSize;
    this.retryTime = b.retryTime;
    this.batchSettles = b.batchSettles;
    this.readAhead = b.readAhead;
    this.trustStore = b.trustStore;
    this.trustStorePassword = b.trustStorePassword == null ? null : b.trustStorePassword.clone();
  }

  /** A builder holding every default. */
  public static Builder builder() {
    return new Builder();
  }

  /** The default configuration: a local Redis, default stream and group. */
  public static RedisBackendConfig defaults() {
    return builder().build();
  }

  /**
   * The Redis URL, password included: {@code redis://[user:password@]host[:port][/db]} or
   * {@code rediss://} for TLS. Never log it; use {@link #redactedUrl()}.
   */
  public String url() {
    return url;
  }

  /** The URL with any password replaced by {@code ***}, safe for logs and messages. */
  public String redactedUrl() {
    return redact(url);
  }

  /** The stream key events are written to and read from. */
  public String stream() {
    return stream;
  }

  /** The consumer group; every Spine in one group shares the work. */
  public String group() {
    return group;
  }

  /**
   * This process's consumer name in the group. Defaults to host, pid and a random suffix;
   * set a stable name to find this consumer's pending entries again after a restart.
   */
  public String consumer() {
    return consumer;
  }

  /** Most entries one read or one claim round takes, 1 to {@value #MAX_BATCH_SIZE}. */
  public int batchSize() {
    return batchSize;
  }

  /** Longest time one {@code XREADGROUP} blocks on the server. */
  public Duration blockTime() {
    return blockTime;
  }

  /** Client-side timeout of one command, longer than {@link #blockTime()}. */
  public Duration commandTimeout() {
    return commandTimeout;
  }

  /**
   * How long an entry must sit pending, unsettled, before another consumer may claim it. A
   * live consumer renews the entries it holds every quarter of this time (see {@link
   * RedisBackend}, <em>Leases</em>), so it bounds how long a crashed consumer's entries wait
   * and how late a stuck handling is taken over, not how long a handling may take.
   */
  public Duration claimIdleTime() {
    return claimIdleTime;
  }

  /** Period between two claim rounds; claims run during pulls, never more often. */
  public Duration claimInterval() {
    return claimInterval;
  }

  /**
   * How many deliveries an entry may have; a claim that would deliver it once more
   * dead-letters it instead.
   */
  public int maxDeliveries() {
    return maxDeliveries;
  }

  /** The dead-letter stream key; defaults to {@code <stream>:dlq}. */
  public String deadLetterStream() {
    return deadLetterStream;
  }

  /**
   * The sorted set holding entries scheduled for a later redelivery by {@link
   * RedisBackend#retryLater}, scored by due time; defaults to {@code <stream>:delayed}.
   */
  public String delayedKey() {
    return delayedKey;
  }

  /** Period between two moves of due delayed entries back into the stream, during pulls. */
  public Duration delayedPollInterval() {
    return delayedPollInterval;
  }

  /**
   * Approximate bound on the main stream's length, applied by each {@code XADD} with {@code
   * MAXLEN ~}; {@link #NO_TRIMMING} (0) never trims. Redis 7 may trim entries still pending;
   * they are then reported as lost by the claim rounds.
   */
  public long maxLength() {
    return maxLength;
  }

  /**
   * Bound on the dead-letter stream's length, in entries, applied exactly by each dead letter's
   * {@code XADD ... MAXLEN}: past it the oldest dead letters are dropped. {@link #NO_TRIMMING}
   * (0, the default) keeps every one.
   */
  public long deadLetterMaxLength() {
    return deadLetterMaxLength;
  }

  /**
   * The byte budget of one read, in bytes of entries (field names and values): a read decodes
   * entries up to it (always at least one) and holds back the rest, which stay delivered to
   * this consumer and are read again, by id, when a pull reaches them. A read-ahead gets what
   * the pull before it left of the budget, so the batch the Spine handles and the batch read
   * ahead are within it together (plus at most one entry). Entries over the read limits (see
   * {@link RedisBackend}) never count: they are not decoded. Parsed events take several times
   * their bytes of heap (2 to 8 times for usual payloads, up to about 35 times for one of many
   * tiny objects), and a settled batch is held until its settle script is accounted for, so
   * the default ({@value #DEFAULT_MAX_READ_BYTES} bytes) keeps even the worst shapes within a
   * heap of 256 MB; it is far above what a batch of usual events takes (256 events of 1 KB
   * are 256 KB). At a Spine concurrency above 1 the Spine may hold several pulls at once.
   */
  public long maxReadBytes() {
    return maxReadBytes;
  }

  /** Bound on commands queued by Lettuce per connection, in commands. */
  public int requestQueueSize() {
    return requestQueueSize;
  }

  /**
   * How long acks, commits, dead letters and enqueues keep retrying while Redis is
   * unreachable (a restart, a network blip) before they throw; zero does not retry. Retrying them is safe: an ack is
   * idempotent, and a commit is fenced, so a commit whose first attempt did run finds its
   * entry settled and writes nothing twice; dead-lettering is fenced the same way. Enqueues
   * are retried only when Lettuce refused to send them (disconnected), never after a timeout,
   * which could write them twice.
   */
  public Duration retryTime() {
    return retryTime;
  }

  /**
   * Whether {@code ack} and {@code commit} are buffered and sent together, fenced, in one
   * script run at the next pull (or when {@link #batchSize()} are buffered, or on {@code
   * flush}/{@code close}); default true. It saves a round trip per event. The guarantees are
   * those of a commit (atomic per entry, fenced); what changes is when: a crash before the
   * flush loses the buffered settles, so those entries are delivered again, with nothing of
   * theirs written. False settles each call before it returns.
   */
  public boolean batchSettles() {
    return batchSettles;
  }

  /**
   * Whether a pull that got entries sends the next {@code XREADGROUP} at once (without
   * {@code BLOCK}: it takes only entries already in the stream), so Redis reads, and this
   * client decodes on Lettuce's I/O thread, the next batch while the Spine handles this one;
   * default true. Up to one more batch is then delivered to this consumer and held here; at a stop or crash those entries stay pending and are delivered again (own pending
   * at the next start under the same consumer name, else a claim after the claim idle time),
   * like the entries of a batch the Spine had pulled but not handled. False reads only when
   * the Spine pulls.
   */
  public boolean readAhead() {
    return readAhead;
  }

  /** The trust store (JKS or PKCS#12) for {@code rediss://}, or null for the JVM default. */
  public Path trustStore() {
    return trustStore;
  }

  /** A copy of the trust store password, or null. */
  char[] trustStorePassword() {
    return trustStorePassword == null ? null : trustStorePassword.clone();
  }

  /** Every setting, with the password redacted. */
  @Override
  public String toString() {
    return "RedisBackendConfig{url=" + redactedUrl()
        + ", stream=" + stream
        + ", group=" + group
        + ", consumer=" + consumer
        + ", batchSize=" + batchSize
        + ", blockTime=" + blockTime
        + ", commandTimeout=" + commandTimeout
        + ", claimIdleTime=" + claimIdleTime
        + ", claimInterval=" + claimInterval
        + ", maxDeliveries=" + maxDeliveries
        + ", deadLetterStream=" + deadLetterStream
        + ", delayedKey=" + delayedKey
        + ", delayedPollInterval=" + delayedPollInterval
        + ", maxLength=" + maxLength
        + ", deadLetterMaxLength=" + deadLetterMaxLength
        + ", maxReadBytes=" + maxReadBytes
        + ", requestQueueSize=" + requestQueueSize
        + ", retryTime=" + retryTime
        + ", batchSettles=" + batchSettles
        + ", readAhead=" + readAhead
        + ", trustStore=" + trustStore
        + "}";
  }

  /**
   * Replaces the password (or the single secret) in a Redis URL's user info with ***; any
   * other text is returned as it is. For logs and messages that show a URL.
   */
  public static String redact(String url) {
    if (url == null) {
      return "null";
    }
    int scheme = url.indexOf("://");
    int at = url.lastIndexOf('@');
    if (scheme < 0 || at < scheme) {
      return url;
    }
    String userInfo = url.substring(scheme + 3, at);
    int colon = userInfo.indexOf(':');
    String user = colon < 0 ? "" : userInfo.substring(0, colon);
    return url.substring(0, scheme + 3) + user + (user.isEmpty() ? "" : ":") + "***"
        + url.substring(at);
  }

  private static String defaultConsumerName() {
    String host;
    try {
      host = InetAddress.getLocalHost().getHostName();
    } catch (Exception e) {
      host = "unknown-host"; // a name is still unique thanks to pid and suffix
    }
    long pid = ProcessHandle.current().pid();
    String suffix = Integer.toHexString(ThreadLocalRandom.current().nextInt(0x100000, 0xFFFFFF));
    return host + "-" + pid + "-" + suffix;
  }

  /** Builds a {@link RedisBackendConfig}; not thread-safe. */
  public static final class Builder {
    private String url = DEFAULT_URL;
    private String stream = DEFAULT_STREAM;
    private String group = DEFAULT_GROUP;
    private String consumer;
    private int batchSize = DEFAULT_BATCH_SIZE;
    private Duration blockTime = DEFAULT_BLOCK_TIME;
    private Duration commandTimeout = DEFAULT_COMMAND_TIMEOUT;
    private Duration claimIdleTime = DEFAULT_CLAIM_IDLE_TIME;
    private Duration claimInterval = DEFAULT_CLAIM_INTERVAL;
    private int maxDeliveries = DEFAULT_MAX_DELIVERIES;
    private String deadLetterStream;
    private String delayedKey;
    private Duration delayedPollInterval = DEFAULT_DELAYED_POLL_INTERVAL;
    private long maxLength = NO_TRIMMING;
    private long deadLetterMaxLength = NO_TRIMMING;
    private long maxReadBytes = DEFAULT_MAX_READ_BYTES;
    private int requestQueueSize = DEFAULT_REQUEST_QUEUE_SIZE;
    private Duration retryTime = DEFAULT_RETRY_TIME;
    private boolean batchSettles = true;
    private boolean readAhead = true;
    private Path trustStore;
    private char[] trustStorePassword;

    private Builder() {}

    /** The Redis URL; see {@link RedisBackendConfig#url()}. Default {@value #DEFAULT_URL}. */
    public Builder url(String url) {
      this.url = url;
      return this;
    }

    /** The stream key; default {@value #DEFAULT_STREAM}. */
    public Builder stream(String stream) {
      this.stream = stream;
      return this;
    }

    /** The consumer group; default {@value #DEFAULT_GROUP}. */
    public Builder group(String group) {
      this.group = group;
      return this;
    }

    /** The consumer name; default host-pid-random. */
    public Builder consumer(String consumer) {
      this.consumer = consumer;
      return this;
    }

    /**
     * Most entries per read or claim round; default {@value #DEFAULT_BATCH_SIZE}, at most
     * {@value #MAX_BATCH_SIZE}.
     */
    public Builder batchSize(int batchSize) {
      this.batchSize = batchSize;
      return this;
    }

    /** Longest server-side block of one read; default 1 s, at least 1 ms. */
    public Builder blockTime(Duration blockTime) {
      this.blockTime = blockTime;
      return this;
    }

    /** Client-side command timeout; default 10 s, must exceed the block time. */
    public Builder commandTimeout(Duration commandTimeout) {
      this.commandTimeout = commandTimeout;
      return this;
    }

    /** Idle time before a pending entry may be claimed; default 30 s, at least 1 ms. */
    public Builder claimIdleTime(Duration claimIdleTime) {
      this.claimIdleTime = claimIdleTime;
      return this;
    }

    /** Period between claim rounds; default 5 s, at least 1 ms. */
    public Builder claimInterval(Duration claimInterval) {
      this.claimInterval = claimInterval;
      return this;
    }

    /** Deliveries before dead-lettering; default {@value #DEFAULT_MAX_DELIVERIES}, at least 1. */
    public Builder maxDeliveries(int maxDeliveries) {
      this.maxDeliveries = maxDeliveries;
      return this;
    }

    /** The dead-letter stream key; default {@code <stream>:dlq}. */
    public Builder deadLetterStream(String deadLetterStream) {
      this.deadLetterStream = deadLetterStream;
      return this;
    }

    /** The delayed-redelivery sorted set key; default {@code <stream>:delayed}. */
    public Builder delayedKey(String delayedKey) {
      this.delayedKey = delayedKey;
      return this;
    }

    /** Period between moves of due delayed entries; default 250 ms, at least 1 ms. */
    public Builder delayedPollInterval(Duration delayedPollInterval) {
      this.delayedPollInterval = delayedPollInterval;
      return this;
    }

    /** Approximate stream length bound in entries; 0 (default) never trims. */
    public Builder maxLength(long maxLength) {
      this.maxLength = maxLength;
      return this;
    }

    /** Bound on the dead-letter stream's length in entries; 0 (default) keeps every one. */
    public Builder deadLetterMaxLength(long deadLetterMaxLength) {
      this.deadLetterMaxLength = deadLetterMaxLength;
      return this;
    }

    /**
     * Byte budget of one read; default {@value #DEFAULT_MAX_READ_BYTES} (2 MiB), at least
     * {@value #MIN_MAX_READ_BYTES}.
     */
    public Builder maxReadBytes(long maxReadBytes) {
      this.maxReadBytes = maxReadBytes;
      return this;
    }

    /** Lettuce's per-connection command queue bound; default 65,536. */
    public Builder requestQueueSize(int requestQueueSize) {
      this.requestQueueSize = requestQueueSize;
      return this;
    }

    /** How long settling and enqueues retry while Redis is unreachable; default 10 s, 0: never. */
    public Builder retryTime(Duration retryTime) {
      this.retryTime = retryTime;
      return this;
    }

    /** Whether acks and commits are buffered until the next pull; default true. */
    public Builder batchSettles(boolean batchSettles) {
      this.batchSettles = batchSettles;
      return this;
    }

    /** Whether the next batch is read while this one is handled; default true. */
    public Builder readAhead(boolean readAhead) {
      this.readAhead = readAhead;
      return this;
    }

    /**
     * A trust store (JKS or PKCS#12 file) holding the server's certificate or its CA, for
     * {@code rediss://} with a self-signed certificate.
     *
     * @param password the store's password, or null; copied
     */
    public Builder trustStore(Path trustStore, char[] password) {
      this.trustStore = trustStore;
      this.trustStorePassword = password == null ? null : password.clone();
      return this;
    }

    /**
     * Validates every setting and builds the configuration.
     *
     * @throws IllegalArgumentException listing every invalid setting
     */
    public RedisBackendConfig build() {
      List<String> problems = new ArrayList<>();
      checkUrl(problems);
      checkName(problems, "stream", stream);
      checkName(problems, "group", group);
      if (consumer != null) {
        checkName(problems, "consumer", consumer);
      }
      if (deadLetterStream != null) {
        checkName(problems, "deadLetterStream", deadLetterStream);
        if (deadLetterStream.equals(stream)) {
          problems.add("deadLetterStream must differ from stream '" + stream + "'");
        }
      }
      if (delayedKey != null) {
        checkName(problems, "delayedKey", delayedKey);
      }
      checkPositive(problems, "delayedPollInterval", delayedPollInterval);
      if (batchSize < 1 || batchSize > MAX_BATCH_SIZE) {
        problems.add("batchSize must be between 1 and " + MAX_BATCH_SIZE + ", got " + batchSize);
      }
      if (maxReadBytes < MIN_MAX_READ_BYTES) {
        problems.add("maxReadBytes must be at least " + MIN_MAX_READ_BYTES + " (64 KiB), got "
            + maxReadBytes);
      }
      checkPositive(problems, "blockTime", blockTime);
      checkPositive(problems, "commandTimeout", commandTimeout);
      checkPositive(problems, "claimIdleTime", claimIdleTime);
      checkPositive(problems, "claimInterval", claimInterval);
      if (blockTime != null && commandTimeout != null && commandTimeout.compareTo(blockTime) <= 0) {
        problems.add("commandTimeout (" + commandTimeout + ") must exceed blockTime ("
            + blockTime + "), or blocking reads would time out on the client");
      }
      if (retryTime == null) {
        problems.add("retryTime == null");
      } else if (retryTime.isNegative()) {
        problems.add("retryTime must not be negative, got " + retryTime);
      }
      if (maxDeliveries < 1) {
        problems.add("maxDeliveries must be at least 1, got " + maxDeliveries);
      }
      if (maxLength < 0) {
        problems.add("maxLength must be 0 (no trimming) or positive, got " + maxLength);
      }
      if (deadLetterMaxLength < 0) {
        problems.add("deadLetterMaxLength must be 0 (no trimming) or positive, got "
            + deadLetterMaxLength);
      }
      if (requestQueueSize < 16) {
        problems.add("requestQueueSize must be at least 16, got " + requestQueueSize);
      }
      if (!problems.isEmpty()) {
        throw new IllegalArgumentException(
            "invalid Redis backend configuration: " + String.join("; ", problems));
      }
      return new RedisBackendConfig(this);
    }

    private void checkUrl(List<String> problems) {
      if (url == null) {
        problems.add("url == null");
        return;
      }
      String shown = redact(url);
      if (!url.startsWith("redis://") && !url.startsWith("rediss://")) {
        problems.add("url must start with redis:// or rediss://, got " + shown);
        return;
      }
      try {
        URI uri = new URI(url);
        if (uri.getHost() == null) {
          problems.add("url has no host: " + shown);
        }
      } catch (URISyntaxException e) {
        // The parser's message quotes the input, password included: never pass it on.
        problems.add("url is malformed: " + shown);
      }
      if (trustStore != null && !url.startsWith("rediss://")) {
        problems.add("trustStore is set but url is not rediss://: " + shown);
      }
    }

    private static void checkName(List<String> problems, String what, String value) {
      if (value == null) {
        problems.add(what + " == null");
      } else if (value.isBlank()) {
        problems.add(what + " must not be blank");
      }
    }

    private static void checkPositive(List<String> problems, String what, Duration value) {
      if (value == null) {
        problems.add(what + " == null");
      } else if (value.toMillis() < 1) {
        problems.add(what + " must be at least 1 ms, got " + value);
      }
    }
  }
}
