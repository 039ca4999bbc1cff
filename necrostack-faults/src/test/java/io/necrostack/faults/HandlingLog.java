package io.necrostack.faults;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * What the workers of one test recorded ({@code *.log} files of {@link Worker}): how often
 * each input was handled and which distinct output events were written for it.
 */
final class HandlingLog {
  /** Handlings per input {@code i}, duplicates included. */
  final Map<Long, Integer> handled = new HashMap<>();
  /** Distinct DONE event ids seen per input {@code i}: the outputs written. */
  final Map<Long, Set<String>> outputs = new HashMap<>();
  /** Lines recorded in total. */
  long lines;

  /**
   * Waits until the workers' logs show every input {@code 0..n-1} handled, each with an
   * output, and returns them as read then.
   */
  static HandlingLog awaitEveryInputHandled(Path dir, int n, Duration atMost) {
    HandlingLog[] last = new HandlingLog[1];
    await().atMost(atMost).pollInterval(Duration.ofMillis(200)).until(() -> {
      last[0] = read(dir);
      return last[0].distinctHandled(n) == n && last[0].inputsWithOutput() == n;
    });
    return last[0];
  }

  /** Reads every worker log in the directory. */
  static HandlingLog read(Path dir) throws IOException {
    HandlingLog log = new HandlingLog();
    List<Path> files;
    try (Stream<Path> s = Files.list(dir)) {
      files = s.filter(p -> p.toString().endsWith(".log")).toList();
    }
    for (Path f : files) {
      try (Stream<String> lines = Files.lines(f, StandardCharsets.US_ASCII)) {
        lines.forEach(log::add);
      }
    }
    return log;
  }

  private void add(String line) {
    if (line.isEmpty()) {
      return;
    }
    lines++;
    int a = line.indexOf(' ');
    int b = line.indexOf(' ', a + 1);
    long i = Long.parseLong(line.substring(a + 1, b));
    String id = line.substring(b + 1);
    if (line.charAt(0) == 'H') {
      handled.merge(i, 1, Integer::sum);
    } else {
      outputs.computeIfAbsent(i, k -> new HashSet<>()).add(id);
    }
  }

  /** Inputs {@code 0..n-1} handled at least once. */
  long distinctHandled(long n) {
    return handled.keySet().stream().filter(i -> i >= 0 && i < n).count();
  }

  /** Handlings beyond the first, over all inputs. */
  long duplicateHandlings() {
    return handled.values().stream().mapToLong(c -> c - 1).sum();
  }

  /** Inputs with more than one distinct output written. */
  long inputsWithDuplicateOutputs() {
    return outputs.values().stream().filter(s -> s.size() > 1).count();
  }

  /** Inputs with at least one output handled. */
  long inputsWithOutput() {
    return outputs.size();
  }
}
