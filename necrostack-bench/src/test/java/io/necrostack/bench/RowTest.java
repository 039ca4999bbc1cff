package io.necrostack.bench;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class RowTest {

  @Test
  void throughputRatioAndSlowdown() {
    Row row = new Row("chain", "events/s", true, Summary.of(2_000_000),
        "loop", Summary.of(8_000_000));
    assertThat(row.ratio()).isEqualTo(0.25);
    assertThat(row.slowdown()).isEqualTo(4.0);
  }

  @Test
  void timeRatioIsTheSlowdown() {
    Row row = new Row("toJson", "ns/op", false, Summary.of(300), "jackson", Summary.of(200));
    assertThat(row.ratio()).isEqualTo(1.5);
    assertThat(row.slowdown()).isEqualTo(1.5);
  }

  @Test
  void noBaselineMeansNoRatio() {
    Row row = Row.alone("ceiling", "events/s", true, Summary.of(1));
    assertThat(row.ratio()).isNaN();
    assertThat(row.slowdown()).isNaN();
  }
}
