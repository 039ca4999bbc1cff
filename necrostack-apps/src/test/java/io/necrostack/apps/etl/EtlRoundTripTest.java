package io.necrostack.apps.etl;

import static org.assertj.core.api.Assertions.assertThat;

import io.necrostack.backend.InMemoryBackend;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.LongStream;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVPrinter;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Whatever the names and departments hold (commas, quotes, newlines, unicode beyond the BMP)
 * and whatever the chunk size, a file written by a CSV library reads back into the same
 * per-department aggregates. Random but reproducible: each case is a fixed seed.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class EtlRoundTripTest {
  private static final List<String> NAME_PARTS =
      List.of("a", "b", "X", " ", ",", "\"", "'", "\n", "\r\n", "\t", "é", "ß", "部", "🕯", "Zoë");
  private static final List<String> DEPARTMENTS =
      List.of("Engineering", "Sales, EMEA", "R&D \"Labs\"", "Ünïcödé 部", "Multi\nLine", "🕯");

  record Employee(String name, int age, long salaryCents, String department) {}

  @TempDir Path dir;

  static LongStream seeds() {
    return LongStream.rangeClosed(1, 40);
  }

  @ParameterizedTest
  @MethodSource("seeds")
  void aWrittenFileReadsBackIntoTheSameAggregates(long seed) throws IOException {
    Random random = new Random(seed);
    List<Employee> employees = employees(random);
    int chunkSize = 1 + random.nextInt(25);
    Path file = dir.resolve("roundtrip-" + seed + ".csv");
    try (Writer w = Files.newBufferedWriter(file, StandardCharsets.UTF_8);
        CSVPrinter printer = new CSVPrinter(w, CSVFormat.RFC4180)) {
      printer.printRecord("name", "age", "salary", "department");
      for (Employee e : employees) {
        printer.printRecord(e.name(), e.age(), cents(e.salaryCents()), e.department());
      }
    }

    EtlOutcome outcome;
    try (InMemoryBackend backend = new InMemoryBackend()) {
      outcome = EtlApp.run(new EtlRequest(file, chunkSize), backend,
          EtlAppTest.print(new ByteArrayOutputStream()), EtlProgress.NONE);
    }

    assertThat(outcome).isInstanceOf(EtlOutcome.Success.class);
    EtlSummary summary = ((EtlOutcome.Success) outcome).summary();
    assertThat(summary.rowsRead()).isEqualTo(employees.size());
    assertThat(summary.rowsRejected()).isZero();
    assertThat(summary.chunks())
        .isEqualTo(Math.max(1, (employees.size() + chunkSize - 1) / chunkSize));
    Map<String, long[]> expected = new TreeMap<>(); // count, min, max, age sum
    for (Employee e : employees) {
      long[] agg = expected.computeIfAbsent(e.department(),
          d -> new long[] {0, Long.MAX_VALUE, Long.MIN_VALUE, 0});
      agg[0]++;
      agg[1] = Math.min(agg[1], e.salaryCents());
      agg[2] = Math.max(agg[2], e.salaryCents());
      agg[3] += e.age();
    }
    assertThat(summary.departments()).extracting(DepartmentSummary::department)
        .containsExactlyElementsOf(expected.keySet());
    for (DepartmentSummary d : summary.departments()) {
      long[] agg = expected.get(d.department());
      assertThat(d.count()).isEqualTo(agg[0]);
      assertThat(Math.round(d.minSalary() * 100)).isEqualTo(agg[1]);
      assertThat(Math.round(d.maxSalary() * 100)).isEqualTo(agg[2]);
      assertThat(d.meanAge())
          .isCloseTo((double) agg[3] / agg[0], org.assertj.core.data.Offset.offset(1e-9));
    }
  }

  private static List<Employee> employees(Random random) {
    int n = random.nextInt(61);
    List<Employee> employees = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      StringBuilder name = new StringBuilder();
      for (int k = random.nextInt(8); k > 0; k--) {
        name.append(NAME_PARTS.get(random.nextInt(NAME_PARTS.size())));
      }
      employees.add(new Employee(name.toString(), random.nextInt(Cleaner.MAX_AGE + 1),
          (long) random.nextInt(100_000_000), DEPARTMENTS.get(random.nextInt(DEPARTMENTS.size()))));
    }
    return employees;
  }

  private static String cents(long cents) {
    return cents / 100 + "." + String.format("%02d", cents % 100);
  }
}
