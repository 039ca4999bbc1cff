package io.necrostack.apps.cli;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import io.necrostack.apps.seance.SeanceApp;
import io.necrostack.apps.seance.SeanceRequest;
import io.necrostack.backend.InMemoryBackend;
import io.necrostack.core.Event;
import io.necrostack.core.HandlingObserver;
import io.necrostack.core.Spine;
import io.necrostack.testing.AsyncApi;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class CliTest {
  @TempDir Path dir;

  @AfterEach
  void quietLogs() {
    LoggingOptions.apply(Level.WARN);
  }

  // ------------------------------------------------------------------ seance

  @Test
  void seanceWithASeedPrintsTheSeanceAndSucceeds() {
    Run run = Run.of("seance", "--seed", "7");

    assertThat(run.code()).isZero();
    assertThat(run.out()).isEqualTo(seance(new SeanceRequest(null, null, null,
        OptionalLong.of(7))));
    assertThat(run.out()).contains("Old Man Haskell");
    assertThat(run.err()).isEmpty();
  }

  @Test
  void seancePassesSpiritRitualAndQuestion() {
    Run run = Run.of("seance", "--spirit", "Aunt Mildred", "--ritual", "tarot",
        "--question", "Will it ship?", "--seed", "3", "--backend", "memory");

    assertThat(run.code()).isZero();
    assertThat(run.out()).isEqualTo(seance(new SeanceRequest("Aunt Mildred", "tarot",
        "Will it ship?", OptionalLong.of(3))));
  }

  @Test
  void anUnknownBackendIsAUsageError() {
    Run run = Run.of("etl", "--backend", "kafka");

    assertThat(run.code()).isEqualTo(2);
    assertThat(run.err()).contains("unknown backend 'kafka'");
  }

  // ------------------------------------------------------------------ etl

  @Test
  void etlOnTheSamplePrintsTheSummaryAndSucceeds() {
    Run run = Run.of("etl");

    assertThat(run.code()).isZero();
    assertThat(run.out())
        .contains("ETL summary: built-in sample (employees.csv)")
        .contains("21 rows read: 19 loaded, 2 rejected (1 chunk)")
        .contains("row 13 (line 14): salary 'forty thousand' is not a number");
    assertThat(run.err()).as("no progress when not on a terminal").isEmpty();
  }

  @Test
  void etlWritesTheJsonSummary() throws IOException {
    Path output = dir.resolve("summary.json");

    Run run = Run.of("etl", "--chunk-size", "4", "--output", output.toString());

    assertThat(run.code()).isZero();
    assertThat(run.out()).contains("Summary written to " + output);
    JsonNode json = JsonMapper.builder().build().readTree(Files.readString(output));
    assertThat(json.get("chunks").asLong()).isEqualTo(6);
    assertThat(json.get("rows_loaded").asLong()).isEqualTo(19);
  }

  @Test
  void etlOnAMissingFileFailsWithExitCode1() {
    Path missing = dir.resolve("missing.csv");

    Run run = Run.of("etl", "--input", missing.toString());

    assertThat(run.code()).isEqualTo(1);
    assertThat(run.out()).isEmpty();
    assertThat(run.err())
        .isEqualTo("necrostack etl: input file not found: " + missing.toAbsolutePath() + "\n");
  }

  @Test
  void etlOnMalformedCsvFailsNamingTheRow() throws IOException {
    Path csv = dir.resolve("bad.csv");
    Files.writeString(csv, "name,age,salary,department\nA,1,2,D\nB,1,\"2,D\n");

    Run run = Run.of("etl", "--input", csv.toString());

    assertThat(run.code()).isEqualTo(1);
    assertThat(run.err()).startsWith("necrostack etl: malformed CSV at row 2 (line 3): ");
  }

  @Test
  void etlIntoAMissingDirectoryFailsBeforeRunning() {
    Path output = dir.resolve("no/such/dir/summary.json");

    Run run = Run.of("etl", "--output", output.toString());

    assertThat(run.code()).isEqualTo(1);
    assertThat(run.out()).isEmpty();
    assertThat(run.err()).contains("cannot write the summary to " + output);
  }

  @ParameterizedTest
  @ValueSource(strings = {"0", "-3", "10001"})
  void anOutOfRangeChunkSizeIsAUsageError(String size) {
    Run run = Run.of("etl", "--chunk-size", size);

    assertThat(run.code()).isEqualTo(2);
    assertThat(run.err()).contains("--chunk-size: chunk size must be between 1 and 10000");
  }

  @Test
  void aNonNumericChunkSizeIsAUsageError() {
    assertThat(Run.of("etl", "--chunk-size", "lots").code()).isEqualTo(2);
  }

  // ------------------------------------------------------------------ graph

  @Test
  void graphPrintsTheSeanceAsMermaid() {
    Run run = Run.of("graph", "seance");

    assertThat(run.code()).isZero();
    assertThat(run.out())
        .isEqualTo(
            """
            flowchart LR
              t0(["SUMMON_RITUAL"])
              t1(["SPIRIT_APPEARED"])
              t2(["ANSWER_GENERATED"])
              t3(["OMEN_REVEALED"])
              o0["Summoner"]
              o1["Oracle"]
              o2["OmenReader"]
              o3["Scribe"]
              t0 --> o0
              o0 --> t1
              t1 --> o1
              o1 --> t2
              t2 --> o2
              o2 --> t3
              t3 --> o3
            """);
  }

  @Test
  void graphPrintsTheEtlAsDot() {
    Run run = Run.of("graph", "ETL", "--format", "dot");

    assertThat(run.code()).isZero();
    assertThat(run.out())
        .startsWith("digraph necrostack {")
        .contains("\"ETL_START\" -> \"organ:CsvExtractor\";")
        .contains("\"organ:CsvExtractor\" -> \"ETL_NEXT_CHUNK\";")
        .contains("\"ETL_NEXT_CHUNK\" -> \"organ:CsvExtractor\";")
        .contains("\"organ:CsvExtractor\" -> \"RAW_DATA_LOADED\";")
        .contains("\"organ:Cleaner\" -> \"DATA_CLEANED\";")
        .contains("\"organ:Transformer\" -> \"DATA_TRANSFORMED\";")
        .contains("\"DATA_TRANSFORMED\" -> \"organ:SummaryReporter\";")
        .contains("\"ETL_FAILED\" -> \"organ:SummaryReporter\";");
  }

  /**
   * The AsyncAPI export of the Séance is a valid AsyncAPI 3.0 document, and the payload schema
   * it gives each event type matches what a real séance's events hold.
   */
  @Test
  void graphWritesTheSeanceAsAsyncApiWhosePayloadSchemasMatchARealSeance() {
    Run run = Run.of("graph", "seance", "--format", "asyncapi", "--stream", "necrostack:demo");

    assertThat(run.code()).as(run.err()).isZero();
    assertThat(AsyncApi.problems(run.out())).isEmpty();
    JsonNode doc = AsyncApi.parse(run.out());
    assertThat(doc.get("channels").get("events").get("address").asString())
        .isEqualTo("necrostack:demo");
    JsonNode schemas = doc.get("components").get("schemas");

    List<Event> seen = new CopyOnWriteArrayList<>();
    HandlingObserver capture = (event, organ) -> {
      seen.add(event);
      return HandlingObserver.Scope.NONE;
    };
    Spine.builder()
        .organs(SeanceApp.organs(new PrintStream(OutputStream.nullOutputStream()), () -> {}))
        .observer(capture)
        .backend(new InMemoryBackend())
        .build()
        .run(SeanceApp.summon(new SeanceRequest(null, null, null, OptionalLong.of(3))));

    assertThat(seen).extracting(Event::eventType).containsExactly("SUMMON_RITUAL",
        "SPIRIT_APPEARED", "ANSWER_GENERATED", "OMEN_REVEALED");
    for (Event event : seen) {
      JsonNode payloadSchema = schemas.get(event.eventType()).get("allOf").get(1)
          .get("properties").get("payload");
      assertThat(payloadSchema.get("type").asString()).isEqualTo("object");
      assertThat(payloadSchema.has("properties")).as("declared: %s", event.eventType()).isTrue();
      JsonNode payload = AsyncApi.parse(event.toJson()).get("payload");
      assertThat(AsyncApi.problems(payloadSchema, payload)).as(event.eventType()).isEmpty();
    }
  }

  @Test
  void graphOfAnUnknownAppIsAUsageError() {
    Run run = Run.of("graph", "tarot");

    assertThat(run.code()).isEqualTo(2);
    assertThat(run.err()).contains("Invalid value for positional parameter at index 0 (APP)")
        .contains("seance, etl");
  }

  // ------------------------------------------------------------------ help and usage

  @Test
  void helpListsTheCommandsAndExitCodes() {
    Run run = Run.of("--help");

    assertThat(run.code()).isZero();
    assertThat(run.out())
        .startsWith("Usage: necrostack [-hV] [COMMAND]")
        .contains("seance", "etl", "graph", "dlq", "health", "stats")
        .contains("Exit codes: 0 success, 1 failure, 2 usage error.");
  }

  @ParameterizedTest
  @ValueSource(strings = {"seance", "etl", "graph", "dlq", "dlq list", "dlq replay",
      "dlq purge", "health", "stats"})
  void everyCommandHasHelp(String command) {
    List<String> args = new ArrayList<>(List.of(command.split(" ")));
    args.add("--help");
    Run run = Run.of(args.toArray(new String[0]));

    assertThat(run.code()).isZero();
    assertThat(run.out()).startsWith("Usage: necrostack " + command);
    if (!command.equals("dlq")) {
      assertThat(run.out()).contains("--log-level");
    }
    assertThat(run.err()).isEmpty();
  }

  @Test
  void theHelpCommandShowsACommandsHelp() {
    Run run = Run.of("help", "etl");

    assertThat(run.code()).isZero();
    assertThat(run.out()).startsWith("Usage: necrostack etl").contains("--chunk-size");
  }

  @Test
  void noCommandIsAUsageError() {
    Run run = Run.of();

    assertThat(run.code()).isEqualTo(2);
    assertThat(run.err()).startsWith("missing command: choose one of [seance, etl, graph, dlq, health, stats, help]");
  }

  @Test
  void anUnknownOptionIsAUsageError() {
    Run run = Run.of("seance", "--volume", "11");

    assertThat(run.code()).isEqualTo(2);
    assertThat(run.err()).contains("Unknown options: '--volume', '11'");
    assertThat(run.out()).isEmpty();
  }

  @Test
  void anUnknownLogLevelIsAUsageError() {
    Run run = Run.of("seance", "--log-level", "LOUD");

    assertThat(run.code()).isEqualTo(2);
    assertThat(run.err()).contains("unknown log level 'LOUD'");
  }

  @Test
  void versionIsPrinted() {
    Run run = Run.of("--version");

    assertThat(run.code()).isZero();
    assertThat(run.out()).startsWith("necrostack ");
  }

  // ------------------------------------------------------------------ logs

  @Test
  void logsGoToStderrAsJsonLinesWithTheKeyValuePairsAsFields() {
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    PrintStream original = System.err;
    Run run;
    // Logback's console appender writes to whatever System.err is at the time of writing.
    System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
    try {
      run = Run.of("seance", "--seed", "1", "--log-level", "info");
    } finally {
      System.setErr(original);
    }

    assertThat(run.code()).isZero();
    assertThat(run.out()).doesNotContain("{\"");
    List<JsonNode> lines = new ArrayList<>();
    JsonMapper mapper = JsonMapper.builder().build();
    for (String line : captured.toString(StandardCharsets.UTF_8).split("\n")) {
      lines.add(mapper.readTree(line));
    }
    JsonNode started =
        lines.stream()
            .filter(l -> "spine started".equals(l.get("message").asString()))
            .findFirst()
            .orElseThrow();
    assertThat(started.get("log.level").asString()).isEqualTo("INFO");
    assertThat(started.get("log.logger").asString()).isEqualTo("io.necrostack.core.Spine");
    assertThat(Instant.parse(started.get("@timestamp").asString())).isNotNull();
    assertThat(started.get("@timestamp").asString()).endsWith("Z");
    assertThat(started.get("service.name").asString()).isEqualTo("necrostack");
    assertThat(started.get("necrostack.organs").asInt()).isEqualTo(4);
    assertThat(started.get("necrostack.organs").isNumber()).isTrue();
    assertThat(lines)
        .anySatisfy(l -> assertThat(l.get("message").asString()).isEqualTo("spine stopped"));
  }

  @Test
  void theDefaultLevelKeepsStderrFreeOfInfoLogs() {
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    PrintStream original = System.err;
    System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
    try {
      assertThat(Run.of("seance", "--seed", "1").code()).isZero();
    } finally {
      System.setErr(original);
    }

    assertThat(captured.toString(StandardCharsets.UTF_8)).isEmpty();
  }

  // ------------------------------------------------------------------ helpers

  /** One run of the command line with captured streams. */
  record Run(int code, String out, String err) {
    static Run of(String... args) {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      ByteArrayOutputStream err = new ByteArrayOutputStream();
      int code =
          Cli.execute(
              new CliIo(
                  new PrintStream(out, true, StandardCharsets.UTF_8),
                  new PrintStream(err, true, StandardCharsets.UTF_8),
                  false),
              args);
      return new Run(
          code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }
  }

  static String seance(SeanceRequest request) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (InMemoryBackend backend = new InMemoryBackend()) {
      SeanceApp.run(request, backend, new PrintStream(bytes, true, StandardCharsets.UTF_8));
    }
    return bytes.toString(StandardCharsets.UTF_8);
  }
}
