package io.necrostack.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class SummaryTest {

  @Test
  void oddCountTakesTheMiddleValue() {
    Summary s = Summary.of(5, 1, 9, 3, 7);
    assertThat(s.median()).isEqualTo(5);
    assertThat(s.min()).isEqualTo(1);
    assertThat(s.max()).isEqualTo(9);
    assertThat(s.count()).isEqualTo(5);
  }

  @Test
  void evenCountAveragesTheTwoMiddleValues() {
    assertThat(Summary.of(4, 1, 3, 2).median()).isEqualTo(2.5);
  }

  @Test
  void doesNotReorderTheCallersArray() {
    double[] values = {3, 1, 2};
    Summary.of(values);
    assertThat(values).containsExactly(3, 1, 2);
  }

  @Test
  void refusesNoValues() {
    assertThatThrownBy(Summary::of).isInstanceOf(IllegalArgumentException.class);
  }
}
