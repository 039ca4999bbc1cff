package io.necrostack.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Defaults, validation and redaction of the configuration; no server needed. */
@Timeout(value = 10, unit = TimeUnit.SECONDS)
class RedisBackendConfigTest {

  @Test
  void defaultsAreTheNamedConstants() {
    RedisBackendConfig c = RedisBackendConfig.defaults();
    assertThat(c.url()).isEqualTo(RedisBackendConfig.DEFAULT_URL);
    assertThat(c.stream()).isEqualTo("necrostack:events");
    assertThat(c.group()).isEqualTo("necrostack");
    assertThat(c.deadLetterStream()).isEqualTo("necrostack:events:dlq");
    assertThat(c.claimIdleTime()).isEqualTo(Duration.ofSeconds(30));
    assertThat(c.maxDeliveries()).isEqualTo(3);
    assertThat(c.maxLength()).isEqualTo(RedisBackendConfig.NO_TRIMMING);
    assertThat(c.consumer()).matches(".+-\\d+-[0-9a-f]+");
    assertThat(RedisBackendConfig.defaults().consumer()).isNotEqualTo(c.consumer());
  }

  @Test
  void theDeadLetterStreamFollowsTheStream() {
    assertThat(RedisBackendConfig.builder().stream("orders").build().deadLetterStream())
        .isEqualTo("orders:dlq");
  }

  @Test
  void buildListsEveryProblem() {
    assertThatThrownBy(() -> RedisBackendConfig.builder()
            .url("http://x")
            .stream(" ")
            .batchSize(0)
            .maxDeliveries(0)
            .blockTime(Duration.ofSeconds(5))
            .commandTimeout(Duration.ofSeconds(2))
            .maxLength(-1)
            .build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("url must start with redis:// or rediss://")
        .hasMessageContaining("stream must not be blank")
        .hasMessageContaining("batchSize must be between 1 and 4096, got 0")
        .hasMessageContaining("maxDeliveries must be at least 1, got 0")
        .hasMessageContaining("commandTimeout (PT2S) must exceed blockTime (PT5S)")
        .hasMessageContaining("maxLength must be 0 (no trimming) or positive, got -1");
  }

  @Test
  void batchesReadBudgetsAndTheDeadLetterCapAreBounded() {
    assertThat(RedisBackendConfig.builder().batchSize(4_096).build().batchSize()).isEqualTo(4_096);
    RedisBackendConfig defaults = RedisBackendConfig.defaults();
    assertThat(defaults.maxReadBytes()).isEqualTo(2L * 1024 * 1024);
    assertThat(defaults.deadLetterMaxLength()).isZero();
    assertThatThrownBy(() -> RedisBackendConfig.builder()
            .batchSize(4_097)
            .maxReadBytes(65_535)
            .deadLetterMaxLength(-1)
            .build())
        .hasMessageContaining("batchSize must be between 1 and 4096, got 4097")
        .hasMessageContaining("maxReadBytes must be at least 65536 (64 KiB), got 65535")
        .hasMessageContaining("deadLetterMaxLength must be 0 (no trimming) or positive, got -1");
  }

  @Test
  void theDeadLetterStreamMustDifferFromTheStream() {
    assertThatThrownBy(() -> RedisBackendConfig.builder().stream("s").deadLetterStream("s")
            .build())
        .hasMessageContaining("deadLetterStream must differ from stream 's'");
  }

  @Test
  void thePasswordNeverAppearsInToStringOrErrors() {
    RedisBackendConfig c = RedisBackendConfig.builder()
        .url("redis://alice:s3cr3t-pw@example.com:6380/2").build();
    assertThat(c.toString()).doesNotContain("s3cr3t-pw").contains("redis://alice:***@example.com");
    assertThat(c.redactedUrl()).isEqualTo("redis://alice:***@example.com:6380/2");
    assertThat(RedisBackendConfig.redact("redis://:pw@h:1")).isEqualTo("redis://***@h:1");
    assertThatThrownBy(() -> RedisBackendConfig.builder().url("redis://u:s3cr3t-pw@").build())
        .satisfies(e -> assertThat(e.getMessage()).doesNotContain("s3cr3t-pw"));
    assertThatThrownBy(() -> RedisBackendConfig.builder().url("redis://u:s3cr3t pw@h^:x").build())
        .satisfies(e -> assertThat(e.getMessage()).doesNotContain("s3cr3t"));
  }

  @Test
  void nextIdStepsTheSequence() {
    assertThat(RedisBackend.nextId("5-0")).isEqualTo("5-1");
    assertThat(RedisBackend.nextId("5-" + Long.MAX_VALUE)).isEqualTo("6-0");
  }
}
