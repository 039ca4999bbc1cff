package io.necrostack.bench;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Workload 6: the Redis drain of a million events in a child JVM limited to {@code -Xmx256m},
 * reporting its peak heap. A child, because the limit must hold for the whole JVM and the
 * harness itself runs with a larger heap.
 */
final class MemoryRun {
  /** The child's heap limit. */
  static final String XMX = "-Xmx256m";

  private MemoryRun() {}

  /** What the child measured. */
  record Result(long events, long nanos, long peakHeapBytes, long maxHeapBytes) {}

  /**
   * In the child: drains the pre-filled stream and prints one {@code RESULT} line.
   *
   * <p>The peak is the sum of each heap pool's peak since the reset, an upper bound of the
   * heap actually in use at once (the pools peak at different moments).
   */
  static void child(String url, String stream, int n) throws Exception {
    List<MemoryPoolMXBean> heap = new ArrayList<>();
    for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
      if (pool.getType() == MemoryType.HEAP) {
        pool.resetPeakUsage();
        heap.add(pool);
      }
    }
    Trial.Sample s = RedisWorkloads.drainPrefilled(url, stream, n);
    long peak = 0;
    for (MemoryPoolMXBean pool : heap) {
      peak += pool.getPeakUsage().getUsed();
    }
    System.out.println("RESULT " + s.events() + " " + s.nanos() + " " + peak + " "
        + Runtime.getRuntime().maxMemory());
  }

  /** In the harness: fills a stream, runs the child on it, returns what it measured. */
  static Result run(RedisProcess redis, int n) throws Exception {
    String stream = RedisWorkloads.freshStream("memory");
    long fill = System.nanoTime();
    RedisWorkloads.prefill(redis.url(), stream, n);
    System.out.printf("  prefilled %,d events in %d ms%n", n,
        TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - fill));
    try {
      String java = ProcessHandle.current().info().command().orElse("java");
      String jar = Path.of(MemoryRun.class.getProtectionDomain().getCodeSource().getLocation()
          .toURI()).toString();
      Process p = new ProcessBuilder(java, XMX, "-cp", jar, BenchMain.class.getName(),
          "redis-memory-child", redis.url(), stream, Integer.toString(n))
          .redirectErrorStream(true).start();
      Result result = null;
      List<String> tail = new ArrayList<>();
      try (BufferedReader r = new BufferedReader(
          new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
        String line;
        while ((line = r.readLine()) != null) {
          if (line.startsWith("RESULT ")) {
            String[] f = line.split(" ");
            result = new Result(Long.parseLong(f[1]), Long.parseLong(f[2]),
                Long.parseLong(f[3]), Long.parseLong(f[4]));
          } else {
            tail.add(line);
            if (tail.size() > 20) {
              tail.remove(0);
            }
          }
        }
      }
      int exit = p.waitFor();
      if (exit != 0 || result == null) {
        throw new IllegalStateException("the " + XMX + " drain failed (exit " + exit + "): "
            + String.join("\n", tail));
      }
      return result;
    } finally {
      RedisWorkloads.delete(redis.url(), stream);
    }
  }
}
