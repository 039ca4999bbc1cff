package io.necrostack.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class OptionsTest {

  @Test
  void defaults() {
    BenchMain.Options o = BenchMain.Options.parse(new String[0]);
    assertThat(o.workloads).containsExactly("chain", "fanout", "json", "redis", "memory");
    assertThat(o.events).isEqualTo(1_000_000);
    assertThat(o.repetitions).isEqualTo(5);
    assertThat(o.jsonOut).isNull();
  }

  @Test
  void parsesEveryOption() {
    BenchMain.Options o = BenchMain.Options.parse(new String[] {
        "--workloads", "fanout,chain", "--events", "10", "--reps", "3", "--warmups", "0",
        "--fanout-width", "7", "--fanout-runs", "2", "--json", "out.json"});
    assertThat(o.workloads).containsExactly("fanout", "chain");
    assertThat(o.events).isEqualTo(10);
    assertThat(o.repetitions).isEqualTo(3);
    assertThat(o.warmups).isZero();
    assertThat(o.fanOutWidth).isEqualTo(7);
    assertThat(o.fanOutRuns).isEqualTo(2);
    assertThat(o.jsonOut).isEqualTo(Path.of("out.json"));
  }

  @Test
  void rejectsWhatItDoesNotKnow() {
    assertThatThrownBy(() -> BenchMain.Options.parse(new String[] {"--workloads", "nope"}))
        .hasMessageContaining("nope");
    assertThatThrownBy(() -> BenchMain.Options.parse(new String[] {"--events", "0"}))
        .hasMessageContaining("--events");
    assertThatThrownBy(() -> BenchMain.Options.parse(new String[] {"--reps"}))
        .hasMessageContaining("needs a value");
  }
}
