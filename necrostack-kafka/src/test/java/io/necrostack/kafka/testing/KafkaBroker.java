package io.necrostack.kafka.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Properties;
import java.util.StringJoiner;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A real Kafka cluster for tests: one or more KRaft nodes (broker and controller in one
 * process, combined mode), each in a child JVM of its own, on free loopback ports, with its
 * storage in a scratch directory. Never Docker: the broker is the Maven Central artifact
 * {@code org.apache.kafka:kafka_2.13}, on this test's classpath.
 *
 * <p>Use it as {@code @RegisterExtension static} (started before the class's tests, killed
 * after them), or {@link #start()} and {@link #close()} it yourself. {@link #kill(int)} is a
 * SIGKILL of one node, as a crash; {@link #start(int)} restarts it on the same ports and log
 * directories. {@link #start()} returns once every node is up and a metadata round trip
 * ({@code describeCluster}) sees all of them: an open port is not a ready broker.
 *
 * <p>Settings are the small-cluster ones: internal topics with few partitions and the
 * cluster's replication factor (min ISR 2 on three nodes, 1 on one), {@code
 * group.initial.rebalance.delay.ms=0}, a small log cleaner buffer. Each node logs at WARN to
 * {@code <dir>/node-N/broker.log}, not to the test output.
 */
public final class KafkaBroker implements BeforeAllCallback, AfterAllCallback, AutoCloseable {
  /** How long a node may take to start and join, on a loaded two-core machine. */
  private static final Duration START_TIMEOUT = Duration.ofSeconds(90);

  private final int size;
  private final String clusterId;
  private final int[] ports;
  private final int[] controllerPorts;
  private final Process[] nodes;
  private Path dir;
  private boolean formatted;

  private KafkaBroker(int size) {
    this.size = size;
    this.clusterId = newClusterId();
    this.ports = new int[size];
    this.controllerPorts = new int[size];
    this.nodes = new Process[size];
    for (int i = 0; i < size; i++) {
      ports[i] = freePort();
      controllerPorts[i] = freePort();
    }
  }

  /** One node, not started yet: replication factor 1. */
  public static KafkaBroker single() {
    return new KafkaBroker(1);
  }

  /**
   * Three nodes, not started yet: replication factor 3 and {@code min.insync.replicas} 2, so
   * one node can die without losing an acknowledged write or stopping writes.
   */
  public static KafkaBroker threeNodes() {
    return new KafkaBroker(3);
  }

  @Override
  public void beforeAll(ExtensionContext context) throws Exception {
    start();
  }

  @Override
  public void afterAll(ExtensionContext context) {
    close();
  }

  /** How many nodes the cluster has. */
  public int size() {
    return size;
  }

  /** The bootstrap servers, {@code 127.0.0.1:P[,127.0.0.1:P...]}. */
  public String bootstrapServers() {
    StringJoiner servers = new StringJoiner(",");
    for (int port : ports) {
      servers.add("127.0.0.1:" + port);
    }
    return servers.toString();
  }

  /** The cluster as a NecroStack backend URL, {@code kafka://127.0.0.1:P[,...]}. */
  public String url() {
    return "kafka://" + bootstrapServers();
  }

  /** The client port of node {@code node} (0-based). */
  public int port(int node) {
    return ports[node];
  }

  /**
   * Formats the storage (first time only), starts every node that is not running, and waits
   * until the cluster answers with all its nodes.
   */
  public KafkaBroker start() throws IOException, InterruptedException {
    prepare();
    for (int i = 0; i < size; i++) {
      if (!isAlive(i)) {
        nodes[i] = launch(i);
      }
    }
    awaitNodes(size);
    return this;
  }

  /** Starts (or restarts, on the same ports and log directory) one node and waits for it. */
  public void start(int node) throws IOException, InterruptedException {
    prepare();
    if (!isAlive(node)) {
      nodes[node] = launch(node);
    }
    awaitNodes(size);
  }

  /** Kills one node at once (SIGKILL), as a crash would; its data stays for a restart. */
  public void kill(int node) throws InterruptedException {
    Process p = nodes[node];
    if (p != null && p.isAlive()) {
      p.destroyForcibly();
      if (!p.waitFor(10, TimeUnit.SECONDS)) {
        throw new IllegalStateException("Kafka node " + node + " survived SIGKILL for 10 s");
      }
    }
  }

  /** Kills every node (SIGKILL). */
  public void kill() throws InterruptedException {
    for (int i = 0; i < size; i++) {
      kill(i);
    }
  }

  /** Whether node {@code node}'s process is running. */
  public boolean isAlive(int node) {
    return nodes[node] != null && nodes[node].isAlive();
  }

  /** An admin client on this cluster; the caller closes it. */
  public Admin admin() {
    Properties props = new Properties();
    props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
    props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000);
    props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 30_000);
    return Admin.create(props);
  }

  /** What node {@code node} logged (WARN and above), for a failure message. */
  public String log(int node) {
    try {
      Path log = nodeDir(node).resolve("broker.log");
      return Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
    } catch (IOException e) {
      return "<cannot read the log: " + e + ">";
    }
  }

  /** Kills every node and deletes the storage. Safe to call more than once. */
  @Override
  public void close() {
    try {
      kill();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (dir != null) {
      try (Stream<Path> paths = Files.walk(dir)) {
        paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      } catch (IOException | UncheckedIOException e) {
        // a scratch directory under the system temp dir: left for the OS to clean
      }
      dir = null;
      formatted = false;
    }
  }

  // ------------------------------------------------------------------ internals

  private void prepare() throws IOException, InterruptedException {
    if (dir == null) {
      dir = Files.createTempDirectory("necrostack-kafka-test");
    }
    if (formatted) {
      return;
    }
    // The storage tool, one short-lived JVM per node, run side by side.
    List<Process> formats = new ArrayList<>();
    for (int i = 0; i < size; i++) {
      Path node = nodeDir(i);
      Files.createDirectories(node);
      Files.writeString(node.resolve("server.properties"), serverProperties(i));
      Files.writeString(node.resolve("log4j2.properties"), LOG4J_PROPERTIES);
      formats.add(java(List.of("-Xmx128m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"),
          "kafka.tools.StorageTool", List.of("format", "--cluster-id", clusterId,
              "--config", node.resolve("server.properties").toString(), "--ignore-formatted"),
          node.resolve("format.log")));
    }
    for (int i = 0; i < size; i++) {
      Process p = formats.get(i);
      if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
        p.destroyForcibly();
        throw new IllegalStateException("formatting Kafka node " + i + " failed: "
            + Files.readString(nodeDir(i).resolve("format.log")));
      }
    }
    formatted = true;
  }

  private Process launch(int node) throws IOException {
    Path nodeDir = nodeDir(node);
    return java(List.of("-Xms128m", "-Xmx512m", "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
            "-Dlog4j2.configurationFile=" + nodeDir.resolve("log4j2.properties"),
            "-Dkafka.logs.dir=" + nodeDir),
        "kafka.Kafka", List.of(nodeDir.resolve("server.properties").toString()),
        nodeDir.resolve("stdout.log"));
  }

  private Process java(List<String> jvmOptions, String main, List<String> args, Path output)
      throws IOException {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<String> cmd = new ArrayList<>();
    cmd.add(java);
    cmd.addAll(jvmOptions);
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add(main);
    cmd.addAll(args);
    return new ProcessBuilder(cmd)
        .redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(output.toFile()))
        .start();
  }

  /** Waits until a metadata round trip sees {@code expected} nodes. */
  private void awaitNodes(int expected) throws InterruptedException {
    long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
    Exception last = null;
    try (Admin admin = admin()) {
      while (System.nanoTime() - deadline < 0) {
        for (int i = 0; i < size; i++) {
          if (nodes[i] != null && !nodes[i].isAlive()) {
            throw new IllegalStateException("Kafka node " + i + " exited at start (code "
                + nodes[i].exitValue() + "); its log:\n" + log(i) + stdout(i));
          }
        }
        try {
          int seen = admin.describeCluster().nodes().get(5, TimeUnit.SECONDS).size();
          if (seen >= expected) {
            return;
          }
        } catch (ExecutionException | TimeoutException e) {
          last = e;
        }
        // Polling processes we just started: a short pause between metadata requests, which
        // ends at once if the first node dies.
        Process first = nodes[0];
        if (first != null) {
          first.waitFor(100, TimeUnit.MILLISECONDS);
        }
      }
    }
    throw new IllegalStateException("the Kafka cluster did not show " + expected
        + " node(s) within " + START_TIMEOUT.toSeconds() + " s (last error: " + last
        + "); node 0's log:\n" + log(0) + stdout(0));
  }

  private String stdout(int node) {
    try {
      Path out = nodeDir(node).resolve("stdout.log");
      return Files.exists(out) ? "\nstdout:\n" + Files.readString(out) : "";
    } catch (IOException e) {
      return "";
    }
  }

  private Path nodeDir(int node) {
    return dir.resolve("node-" + node);
  }

  private String serverProperties(int node) {
    StringJoiner voters = new StringJoiner(",");
    for (int i = 0; i < size; i++) {
      voters.add((i + 1) + "@127.0.0.1:" + controllerPorts[i]);
    }
    int minIsr = size >= 3 ? 2 : 1;
    return String.join("\n",
        "process.roles=broker,controller",
        "node.id=" + (node + 1),
        "controller.quorum.voters=" + voters,
        "listeners=PLAINTEXT://127.0.0.1:" + ports[node] + ",CONTROLLER://127.0.0.1:"
            + controllerPorts[node],
        "advertised.listeners=PLAINTEXT://127.0.0.1:" + ports[node],
        "controller.listener.names=CONTROLLER",
        "inter.broker.listener.name=PLAINTEXT",
        "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs=" + nodeDir(node).resolve("data"),
        "num.partitions=1",
        "default.replication.factor=" + size,
        "min.insync.replicas=" + minIsr,
        "offsets.topic.replication.factor=" + size,
        "offsets.topic.num.partitions=5",
        "transaction.state.log.replication.factor=" + size,
        "transaction.state.log.min.isr=" + minIsr,
        "transaction.state.log.num.partitions=5",
        "share.coordinator.state.topic.replication.factor=" + size,
        "share.coordinator.state.topic.min.isr=" + minIsr,
        "group.initial.rebalance.delay.ms=0",
        "log.cleaner.dedupe.buffer.size=2097152",
        "log.flush.interval.messages=1",
        "");
  }

  /** The broker's logging: WARN and above, to a file in its node directory. */
  private static final String LOG4J_PROPERTIES = String.join("\n",
      "status = warn",
      "appender.file.type = File",
      "appender.file.name = file",
      "appender.file.fileName = ${sys:kafka.logs.dir}/broker.log",
      "appender.file.layout.type = PatternLayout",
      "appender.file.layout.pattern = %d %p %c{1}: %m%n",
      "rootLogger.level = warn",
      "rootLogger.appenderRef.file.ref = file",
      "");

  /** 16 random bytes in base64url, not starting with '-' (the storage tool would read an option). */
  private static String newClusterId() {
    while (true) {
      UUID uuid = UUID.randomUUID();
      ByteBuffer bytes = ByteBuffer.allocate(16);
      bytes.putLong(uuid.getMostSignificantBits()).putLong(uuid.getLeastSignificantBits());
      String id = Base64.getUrlEncoder().withoutPadding().encodeToString(bytes.array());
      if (!id.startsWith("-")) {
        return id;
      }
    }
  }

  private static int freePort() {
    try (ServerSocket socket = new ServerSocket()) {
      socket.setReuseAddress(false);
      socket.bind(new InetSocketAddress("127.0.0.1", 0));
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException("no free port", e);
    }
  }
}
