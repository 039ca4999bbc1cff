package io.necrostack.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

class ReportTest {

  private static Report sample() {
    Report report = new Report(Map.of("cpus", 2));
    report.add(new Row("chain", "events/s", true, Summary.of(1, 2, 3), "loop",
        Summary.of(4, 4, 4)));
    report.addAll(List.of(Row.alone("ceiling", "events/s", true, Summary.of(7))));
    return report;
  }

  @Test
  void jsonHoldsEveryRowWithItsRatio() {
    JsonNode root = JsonMapper.builder().build().readTree(sample().toJson());
    assertThat(root.get("environment").get("cpus").asInt()).isEqualTo(2);
    JsonNode chain = root.get("results").get(0);
    assertThat(chain.get("workload").asString()).isEqualTo("chain");
    assertThat(chain.get("median").asDouble()).isEqualTo(2);
    assertThat(chain.get("min").asDouble()).isEqualTo(1);
    assertThat(chain.get("max").asDouble()).isEqualTo(3);
    assertThat(chain.get("baseline_median").asDouble()).isEqualTo(4);
    assertThat(chain.get("ratio").asDouble()).isEqualTo(0.5);
    assertThat(chain.get("slowdown").asDouble()).isEqualTo(2);
    assertThat(root.get("results").get(1).has("ratio")).isFalse();
  }

  @Test
  void textHasAHeaderAndOneLinePerRow() {
    String text = sample().toText();
    assertThat(text).contains("# cpus: 2").contains("workload").contains("median");
    assertThat(text.lines().filter(l -> l.startsWith("chain") || l.startsWith("ceiling")))
        .hasSize(2);
    assertThat(text).contains("2.00x");
  }

  @Test
  void numbersAreReadable() {
    assertThat(Report.num(3_456_789.4)).isEqualTo("3,456,789");
    assertThat(Report.num(42.42)).isEqualTo("42.4");
    assertThat(Report.num(0.12345)).isEqualTo("0.123");
  }
}
