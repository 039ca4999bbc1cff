package io.necrostack.apps.etl;

import static org.assertj.core.api.Assertions.assertThat;

import io.necrostack.backend.InMemoryBackend;
import io.necrostack.core.Emission;
import io.necrostack.core.Organ;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class EtlAppTest {

  static final String SAMPLE_TABLE =
      """

      ETL summary: built-in sample (employees.csv)
        21 rows read: 19 loaded, 2 rejected (1 chunk)

        department   employees    min salary    max salary   mean salary  mean age
        -----------  ---------  ------------  ------------  ------------  --------
        Engineering          5     98,000.00    135,500.50    118,550.10      36.8
        Finance              2     15,000.00    250,000.00    132,500.00      50.0
        Marketing            4     61,000.00     88,000.00     72,125.00      35.0
        Sales                5     42,000.00     75,000.00     65,100.00      35.0
        Support              3     49,000.00     54,000.00     51,500.00      35.7

        Rejected rows (2):
          row 13 (line 14): salary 'forty thousand' is not a number
          row 14 (line 15): age is missing
      """;

  @TempDir Path dir;

  @Test
  void theSamplePrintsExactlyTheKnownSummary() {
    Result result = run(EtlRequest.sample());

    assertThat(result.output()).isEqualTo(SAMPLE_TABLE);
    EtlSummary summary = result.summary();
    assertThat(summary.rowsRead()).isEqualTo(21);
    assertThat(summary.rowsLoaded()).isEqualTo(19);
    assertThat(summary.rowsRejected()).isEqualTo(2);
    assertThat(summary.departments())
        .extracting(DepartmentSummary::department)
        .containsExactly("Engineering", "Finance", "Marketing", "Sales", "Support");
    DepartmentSummary engineering = summary.departments().get(0);
    assertThat(engineering.count()).isEqualTo(5);
    assertThat(engineering.minSalary()).isEqualTo(98_000.0);
    assertThat(engineering.maxSalary()).isEqualTo(135_500.5);
    assertThat(engineering.meanSalary()).isEqualTo((128_000 + 135_500.5 + 119_000 + 98_000
        + 112_250) / 5);
    assertThat(engineering.meanAge()).isEqualTo((36 + 45 + 41 + 29 + 33) / 5.0);
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 2, 5, 13, 20, 21, 1000})
  void theChunkSizeChangesTheChunksNotTheResult(int chunkSize) {
    EtlSummary whole = run(EtlRequest.sample()).summary();
    EtlSummary chunked = run(new EtlRequest(null, chunkSize)).summary();

    assertThat(chunked.chunks()).isEqualTo((21 + chunkSize - 1) / chunkSize);
    assertThat(chunked.departments())
        .usingRecursiveFieldByFieldElementComparator(
            org.assertj.core.api.recursive.comparison.RecursiveComparisonConfiguration.builder()
                .withComparatorForType(
                    (a, b) -> Math.abs(a - b) < 1e-6 ? 0 : Double.compare(a, b), Double.class)
                .build())
        .isEqualTo(whole.departments());
    assertThat(chunked.rejections()).isEqualTo(whole.rejections());
  }

  @Test
  void trickyCsvIsParsedTrimmedAndItsBadRowsReportedByNumber() throws IOException {
    // A BOM, columns in another order and case with spaces, an extra column, a quoted comma,
    // a quoted number, spaces to trim, a blank line, an embedded newline, unicode, and rows
    // missing or garbling age and salary.
    Path csv =
        write(
            "\uFEFF Name ,Department,AGE,salary,extra\n"
                + "\"Smith, Jane\",Engineering,34,\"100000\",x\n" // row 1, line 2
                + "  Bob  ,  Engineering , 40 , 80000.5 ,y\n" // row 2, line 3
                + "\n" // line 4: blank
                + "\"Multi\nLine Name\",Ünïcödé 部,29,50000,z\n" // row 3, lines 5-6
                + "No Age,Sales,,40000,w\n" // row 4, line 7
                + "Bad Age,Sales,abc,40000,w\n" // row 5, line 8
                + "Short,Sales,30\n" // row 6, line 9
                + "Neg,Sales,30,-5,q\n" // row 7, line 10
                + "Dot Age,Sales,30.5,100,q\n" // row 8, line 11
                + "Empty Dept,,50,1000,q\n" // row 9, line 12
                + "\"Quote \"\"Q\"\"\",Sales,22,$5,q\n" // row 10, line 13
                + "Ok,Sales,60,90000,q\n"); // row 11, line 14

    EtlSummary summary = run(new EtlRequest(csv, 3)).summary();

    assertThat(summary.rowsRead()).isEqualTo(11);
    assertThat(summary.rowsLoaded()).isEqualTo(5);
    assertThat(summary.rowsRejected()).isEqualTo(6);
    assertThat(summary.blankLines()).isEqualTo(1);
    assertThat(summary.chunks()).isEqualTo(4);
    assertThat(summary.rejections())
        .extracting(Rejection::toString)
        .containsExactly(
            "row 4 (line 7): age is missing",
            "row 5 (line 8): age 'abc' is not a whole number",
            "row 6 (line 9): expected 5 fields as in the header, found 3",
            "row 7 (line 10): salary -5 is negative",
            "row 8 (line 11): age '30.5' is not a whole number",
            "row 10 (line 13): salary '$5' is not a number");
    assertThat(summary.departments())
        .extracting(DepartmentSummary::department, DepartmentSummary::count)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple(Cleaner.NO_DEPARTMENT, 1L),
            org.assertj.core.groups.Tuple.tuple("Engineering", 2L),
            org.assertj.core.groups.Tuple.tuple("Sales", 1L),
            org.assertj.core.groups.Tuple.tuple("Ünïcödé 部", 1L));
    DepartmentSummary engineering = summary.departments().get(1);
    assertThat(engineering.minSalary()).isEqualTo(80_000.5);
    assertThat(engineering.maxSalary()).isEqualTo(100_000.0);
    assertThat(engineering.meanAge()).isEqualTo(37.0);
  }

  @Test
  void aRowWithBytesThatAreNotUtf8IsRejectedByNumber() throws IOException {
    Path csv = dir.resolve("latin1.csv");
    Files.write(
        csv,
        concat(
            "name,age,salary,department\nAnn,30,100,D\n".getBytes(StandardCharsets.UTF_8),
            "Jos\u00e9,31,200,D\n".getBytes(StandardCharsets.ISO_8859_1),
            "Cy,32,300,D\n".getBytes(StandardCharsets.UTF_8)));

    EtlSummary summary = run(new EtlRequest(csv, 10)).summary();

    assertThat(summary.rowsLoaded()).isEqualTo(2);
    assertThat(summary.rejections())
        .extracting(Rejection::toString)
        .containsExactly("row 2 (line 3): contains bytes that are not valid UTF-8");
  }

  @Test
  void aHeaderOnlyFileSucceedsWithNothingLoaded() throws IOException {
    Result result = run(new EtlRequest(write("name,age,salary,department\n"), 10));

    assertThat(result.summary().rowsRead()).isZero();
    assertThat(result.output()).contains("No rows were loaded.");
  }

  @Test
  void aMissingFileFailsWithItsName() {
    Path missing = dir.resolve("nope.csv");

    assertThat(failure(new EtlRequest(missing, 10)))
        .isEqualTo("input file not found: " + missing.toAbsolutePath());
  }

  @Test
  void aDirectoryFails() {
    assertThat(failure(new EtlRequest(dir, 10))).startsWith("input is a directory");
  }

  @Test
  void anEmptyFileFailsForLackOfAHeader() throws IOException {
    assertThat(failure(new EtlRequest(write(""), 10))).startsWith("no header row:");
  }

  @Test
  void aHeaderWithoutTheColumnsFailsNamingThem() throws IOException {
    assertThat(failure(new EtlRequest(write("name,age,dept\nA,1,D\n"), 10)))
        .endsWith("missing column(s) salary, department; expected name, age, salary,"
            + " department, found name, age, dept");
  }

  @Test
  void aHeaderWithAnUnclosedQuoteFails() throws IOException {
    assertThat(failure(new EtlRequest(write("\"name,age,salary,department\nA,1,2,D\n"), 10)))
        .startsWith("unreadable header row (line 1) of ")
        .contains("EOF reached before encapsulated token finished");
  }

  @Test
  void aDuplicatedColumnFails() throws IOException {
    assertThat(failure(new EtlRequest(write("name,age,salary,department,Age\n"), 10)))
        .endsWith("column 'Age' appears twice");
  }

  @Test
  void anUnclosedQuoteFailsWithItsRowAndLine() throws IOException {
    assertThat(failure(new EtlRequest(write("name,age,salary,department\nA,1,2,D\nB,1,\"2,D\n"),
            10)))
        .startsWith("malformed CSV at row 2 (line 3): ")
        .contains("EOF reached before encapsulated token finished");
  }

  @Test
  void textAfterAClosingQuoteFailsWithItsRowAndLineInALaterChunk() throws IOException {
    StringBuilder csv = new StringBuilder("name,age,salary,department\n");
    for (int i = 1; i <= 25; i++) {
      csv.append("N").append(i).append(",30,100,D\n");
    }
    csv.append("Bad,30,\"100\"x,D\nAfter,30,100,D\n");

    Result result = runRaw(new EtlRequest(write(csv.toString()), 10));

    assertThat(result.outcome()).isInstanceOf(EtlOutcome.Failure.class);
    assertThat(((EtlOutcome.Failure) result.outcome()).reason())
        .startsWith("malformed CSV at row 26 (line 27): Invalid character between encapsulated"
            + " token and delimiter");
    assertThat(result.output()).as("no summary for a failed run").isEmpty();
  }

  @Test
  void theSummaryJsonHoldsTheTotalsDepartmentsAndRejections() throws IOException {
    EtlSummary summary = run(EtlRequest.sample()).summary();
    Path file = dir.resolve("summary.json");

    SummaryJson.write(summary, file);

    JsonNode json = JsonMapper.builder().build().readTree(Files.readString(file));
    assertThat(json.get("source").asString()).isEqualTo(CsvSource.SAMPLE_NAME);
    assertThat(json.get("rows_read").asLong()).isEqualTo(21);
    assertThat(json.get("rows_loaded").asLong()).isEqualTo(19);
    assertThat(json.get("rows_rejected").asLong()).isEqualTo(2);
    assertThat(json.get("departments")).hasSize(5);
    JsonNode engineering = json.get("departments").get(0);
    assertThat(engineering.get("department").asString()).isEqualTo("Engineering");
    assertThat(engineering.get("count").asLong()).isEqualTo(5);
    assertThat(engineering.get("mean_salary").decimalValue())
        .isEqualByComparingTo("118550.10");
    assertThat(json.get("rejected_rows").get(0).get("row").asLong()).isEqualTo(13);
    assertThat(json.get("rejected_rows").get(0).get("line").asLong()).isEqualTo(14);
    assertThat(json.get("rejected_rows").get(1).get("reason").asString())
        .isEqualTo("age is missing");
    assertThat(json.get("rejected_rows_truncated").asBoolean()).isFalse();
  }

  @Test
  void theProgressListenerSeesTheRunningTotalAfterEachChunk() {
    List<Long> totals = new ArrayList<>();
    try (InMemoryBackend backend = new InMemoryBackend()) {
      EtlApp.run(new EtlRequest(null, 8), backend, print(new ByteArrayOutputStream()),
          (rows, last) -> totals.add(rows));
    }

    assertThat(totals).containsExactly(8L, 16L, 21L);
  }

  // ------------------------------------------------------------------ helpers

  record Result(EtlOutcome outcome, String output) {
    EtlSummary summary() {
      assertThat(outcome).isInstanceOf(EtlOutcome.Success.class);
      return ((EtlOutcome.Success) outcome).summary();
    }
  }

  static Result run(EtlRequest request) {
    Result result = runRaw(request);
    assertThat(result.outcome()).isInstanceOf(EtlOutcome.Success.class);
    return result;
  }

  static Result runRaw(EtlRequest request) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    EtlOutcome outcome;
    try (InMemoryBackend backend = new InMemoryBackend()) {
      outcome = EtlApp.run(request, backend, print(bytes), EtlProgress.NONE);
      assertThat(backend.isDrained()).as("drained: %s", backend.health()).isTrue();
    }
    return new Result(outcome, bytes.toString(StandardCharsets.UTF_8));
  }

  static String failure(EtlRequest request) {
    Result result = runRaw(request);
    assertThat(result.outcome()).isInstanceOf(EtlOutcome.Failure.class);
    assertThat(result.output()).isEmpty();
    return ((EtlOutcome.Failure) result.outcome()).reason();
  }

  private Path write(String text) throws IOException {
    Path file = Files.createTempFile(dir, "input", ".csv");
    Files.writeString(file, text, StandardCharsets.UTF_8);
    return file;
  }

  private static byte[] concat(byte[]... parts) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (byte[] part : parts) {
      out.writeBytes(part);
    }
    return out.toByteArray();
  }

  static PrintStream print(ByteArrayOutputStream bytes) {
    return new PrintStream(bytes, true, StandardCharsets.UTF_8);
  }

  /** An organ that only watches; used by the large-file test. */
  static Organ watcher(String name, Runnable onEvent, String... types) {
    return Organ.builder(name).listensTo(types).handle(e -> {
      onEvent.run();
      return Emission.none();
    });
  }
}
