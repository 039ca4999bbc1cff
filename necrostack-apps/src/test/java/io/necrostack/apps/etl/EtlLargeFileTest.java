package io.necrostack.apps.etl;

import static org.assertj.core.api.Assertions.assertThat;

import io.necrostack.backend.InMemoryBackend;
import java.io.BufferedWriter;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** A generated file of 200,000 rows streams through a queue that never holds many events. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class EtlLargeFileTest {
  static final int ROWS = 200_000;
  /** Small chunks: 2,000 of them make a chain deeper than the Spine's default maxDepth. */
  static final int CHUNK = 100;
  static final int BAD_EVERY = 10_000; // every 10,000th row has a salary of "n/a"
  static final List<String> DEPARTMENTS = List.of("Alpha", "Beta", "Gamma", "Delta", "Epsilon");

  // The queue's hard bound: an extractor that enqueued the file would overflow it at once.
  static final int QUEUE_CAPACITY = 8;

  @TempDir Path dir;

  @Test
  void streamsInBoundedQueueSpaceAndAggregatesEveryRow() throws IOException {
    Path csv = generate(dir.resolve("large.csv"));
    long[] count = new long[DEPARTMENTS.size()];
    double[] salarySum = new double[DEPARTMENTS.size()];
    long[] ageSum = new long[DEPARTMENTS.size()];
    double[] min = {Double.MAX_VALUE, Double.MAX_VALUE, Double.MAX_VALUE, Double.MAX_VALUE,
        Double.MAX_VALUE};
    double[] max = new double[DEPARTMENTS.size()];
    for (int i = 1; i <= ROWS; i++) {
      if (i % BAD_EVERY == 0) {
        continue;
      }
      int d = i % DEPARTMENTS.size();
      count[d]++;
      salarySum[d] += salary(i);
      ageSum[d] += age(i);
      min[d] = Math.min(min[d], salary(i));
      max[d] = Math.max(max[d], salary(i));
    }

    AtomicInteger maxQueued = new AtomicInteger();
    EtlOutcome outcome;
    try (InMemoryBackend backend = new InMemoryBackend(QUEUE_CAPACITY)) {
      Runnable sample = () -> maxQueued.accumulateAndGet(backend.size(), Math::max);
      outcome =
          EtlApp.run(
              new EtlRequest(csv, CHUNK),
              backend,
              EtlAppTest.print(new ByteArrayOutputStream()),
              EtlProgress.NONE,
              List.of(EtlAppTest.watcher("queue-watcher", sample, EtlEvents.RAW_DATA_LOADED,
                  EtlEvents.ETL_NEXT_CHUNK, EtlEvents.DATA_CLEANED, EtlEvents.DATA_TRANSFORMED)));
      assertThat(backend.isDrained()).isTrue();
    }

    assertThat(outcome).isInstanceOf(EtlOutcome.Success.class);
    EtlSummary summary = ((EtlOutcome.Success) outcome).summary();
    assertThat(summary.chunks()).isEqualTo(ROWS / CHUNK);
    assertThat(summary.rowsRead()).isEqualTo(ROWS);
    assertThat(summary.rowsRejected()).isEqualTo(ROWS / BAD_EVERY);
    assertThat(summary.rowsLoaded()).isEqualTo(ROWS - ROWS / BAD_EVERY);
    assertThat(summary.rejections()).hasSize(ROWS / BAD_EVERY);
    assertThat(summary.rejections().get(0))
        .isEqualTo(new Rejection(BAD_EVERY, BAD_EVERY + 1, "salary 'n/a' is not a number"));
    assertThat(summary.rejections().get(19))
        .isEqualTo(new Rejection(ROWS, ROWS + 1, "salary 'n/a' is not a number"));
    assertThat(summary.departments()).hasSize(DEPARTMENTS.size());
    for (DepartmentSummary line : summary.departments()) {
      int d = DEPARTMENTS.indexOf(line.department());
      assertThat(line.count()).as(line.department()).isEqualTo(count[d]);
      assertThat(line.minSalary()).as(line.department()).isEqualTo(min[d]);
      assertThat(line.maxSalary()).as(line.department()).isEqualTo(max[d]);
      assertThat(line.meanSalary()).as(line.department())
          .isCloseTo(salarySum[d] / count[d], org.assertj.core.data.Offset.offset(1e-6));
      assertThat(line.meanAge()).as(line.department())
          .isCloseTo((double) ageSum[d] / count[d], org.assertj.core.data.Offset.offset(1e-9));
    }
    // The extractor asks for one chunk at a time: a few events are queued, never the file.
    assertThat(maxQueued.get()).isBetween(1, 4);
  }

  private static Path generate(Path file) throws IOException {
    try (BufferedWriter w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
      w.write("name,age,salary,department\n");
      for (int i = 1; i <= ROWS; i++) {
        w.write("\"Employee " + i + ", the " + (i % 7 == 0 ? "Great" : "Good") + "\",");
        w.write(Integer.toString(age(i)));
        w.write(',');
        w.write(i % BAD_EVERY == 0 ? "n/a" : Double.toString(salary(i)));
        w.write(',');
        w.write(DEPARTMENTS.get(i % DEPARTMENTS.size()));
        w.write('\n');
      }
    }
    return file;
  }

  private static int age(int i) {
    return 20 + i % 45;
  }

  private static double salary(int i) {
    return 30_000 + (i % 1_000) * 97.25;
  }
}
