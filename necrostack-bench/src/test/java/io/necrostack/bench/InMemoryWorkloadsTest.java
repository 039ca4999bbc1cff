package io.necrostack.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The workloads do the work they claim; small sizes, and no assertion on time. */
class InMemoryWorkloadsTest {

  @Test
  void chainAndItsBaselineHandleTheSameNumberOfEvents() throws Exception {
    assertThat(InMemoryWorkloads.chain(2_000, Duration.ZERO).run().events()).isEqualTo(2_000);
    assertThat(InMemoryWorkloads.chain(2_000, Duration.ofSeconds(30)).run().events())
        .isEqualTo(2_000);
    assertThat(InMemoryWorkloads.chainBaseline(2_000).run().events()).isEqualTo(2_000);
  }

  @Test
  void fanOutHandlesTheStartAndEveryItemOfEveryRun() throws Exception {
    assertThat(InMemoryWorkloads.fanOut(50, 3, 1, Duration.ZERO).run().events())
        .isEqualTo(153);
    assertThat(InMemoryWorkloads.fanOut(50, 3, 4, Duration.ZERO).run().events())
        .isEqualTo(153);
    assertThat(InMemoryWorkloads.fanOutBaseline(50, 3).run().events()).isEqualTo(153);
  }

  @Test
  void harnessSummarizesEveryRepetition() throws Exception {
    Harness harness = new Harness(0, 3, new java.io.PrintStream(
        java.io.OutputStream.nullOutputStream()));
    var rows = harness.throughput("chain", InMemoryWorkloads.chain(500, Duration.ZERO),
        "loop", InMemoryWorkloads.chainBaseline(500));
    assertThat(rows.get(0).framework().count()).isEqualTo(3);
    assertThat(rows.get(0).baselineSummary().count()).isEqualTo(3);
    assertThat(rows.get(0).ratio()).isPositive();
  }
}
