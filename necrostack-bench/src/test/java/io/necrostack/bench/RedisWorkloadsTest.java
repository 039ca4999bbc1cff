package io.necrostack.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** The parsing and arithmetic of the Redis workloads; no Redis needed. */
class RedisWorkloadsTest {

  @Test
  void readsTheRateFromRedisBenchmarkQuietOutput() {
    String out = "xadd s * event {}: rps=0.0 (overall: -nan) avg_msec=-nan\r"
        + "xadd s * event {}: 399680.25 requests per second, p50=6.071 msec\n";
    assertThat(RedisWorkloads.parseRate(out)).isEqualTo(399680.25);
  }

  @Test
  void refusesOutputWithoutARate() {
    assertThatThrownBy(() -> RedisWorkloads.parseRate("Could not connect"))
        .hasMessageContaining("no rate");
  }

  @Test
  void percentilesByNearestRank() {
    long[] values = new long[1000];
    for (int i = 0; i < values.length; i++) {
      values[i] = 1000 - i; // unsorted on purpose
    }
    assertThat(RedisWorkloads.percentile(values, 50)).isEqualTo(500);
    assertThat(RedisWorkloads.percentile(values, 99)).isEqualTo(990);
    assertThat(RedisWorkloads.percentile(values, 99.9)).isEqualTo(999);
    assertThat(RedisWorkloads.percentile(values, 100)).isEqualTo(1000);
  }
}
