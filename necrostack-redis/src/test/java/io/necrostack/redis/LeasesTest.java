package io.necrostack.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lettuce.core.Consumer;
import io.lettuce.core.Limit;
import io.lettuce.core.Range;
import io.lettuce.core.StreamMessage;
import io.lettuce.core.XGroupCreateArgs;
import io.lettuce.core.XReadArgs;
import io.lettuce.core.models.stream.PendingMessage;
import io.necrostack.testing.RedisServer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Which leases are renewed when, and what one renewal does in Redis. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class LeasesTest {
  @RegisterExtension static final RedisServer server = RedisServer.ephemeral();
  private static final long SECOND = TimeUnit.SECONDS.toNanos(1);
  private static TestRedis raw;

  @BeforeAll
  static void connect() {
    raw = new TestRedis(server.url());
  }

  @AfterAll
  static void disconnect() {
    raw.close();
  }

  private static RedisBackendConfig config(String stream, String consumer) {
    return RedisBackendConfig.builder().url(server.url()).stream(stream).consumer(consumer)
        .claimIdleTime(Duration.ofSeconds(2)).build();
  }

  /** Leases whose renewals a test runs itself; no Redis unless it calls renew(). */
  private static Leases leases() {
    return new Leases(config("unused", "me"), null);
  }

  private static Leases.Lease[] hold(Leases leases, String... ids) {
    Leases.Batch batch = leases.batch(ids.length);
    Leases.Lease[] held = new Leases.Lease[ids.length];
    for (int i = 0; i < ids.length; i++) {
      held[i] = batch.add(ids[i]);
    }
    batch.hold();
    return held;
  }

  private static List<String> due(Leases leases, long at) {
    return leases.due(at).stream().map(l -> l.id).toList();
  }

  // ------------------------------------------------------------- which are due

  @Test
  void entriesWaitingAreRenewedWhileTheConsumerMakesProgressAndNoLongerWhenItStops() {
    Leases leases = leases();
    long t = System.nanoTime();
    Leases.Lease[] held = hold(leases, "1-0", "2-0", "3-0");

    assertThat(due(leases, t)).containsExactlyInAnyOrder("1-0", "2-0", "3-0");
    held[0].done(); // progress: one settled
    assertThat(due(leases, t + 3 * SECOND / 2)).containsExactlyInAnyOrder("2-0", "3-0");
    // Nothing started or settled for the claim idle time (2 s): they may lapse.
    assertThat(due(leases, t + 3 * SECOND / 2 + 2 * SECOND)).isEmpty();
    hold(leases, "4-0"); // progress again: a new delivery
    assertThat(due(leases, t + 4 * SECOND)).containsExactlyInAnyOrder("2-0", "3-0", "4-0");
  }

  @Test
  void aHandlingIsRenewedUntilItsLimitAndItsBatchMatesWhileTheLimitAllows() {
    Leases leases = leases();
    long t = System.nanoTime();
    Leases.Lease[] held = hold(leases, "1-0", "2-0");
    held[0].started(5 * SECOND);

    assertThat(due(leases, t)).containsExactlyInAnyOrder("1-0", "2-0");
    // A handling may take 5 s: its batch mates wait for it that long without lapsing.
    assertThat(due(leases, t + 4 * SECOND)).containsExactlyInAnyOrder("1-0", "2-0");
    // Past its limit it is stuck: its lease lapses, and so do its batch mates'.
    assertThat(due(leases, t + 5 * SECOND)).isEmpty();
  }

  @Test
  void aHandlingWithoutALimitIsRenewedForAsLongAsItIsHeld() {
    Leases leases = leases();
    long t = System.nanoTime();
    Leases.Lease[] held = hold(leases, "1-0", "2-0");
    held[0].started(0);

    assertThat(due(leases, t)).containsExactlyInAnyOrder("1-0", "2-0");
    assertThat(due(leases, t + 3600 * SECOND)).containsExactlyInAnyOrder("1-0", "2-0");
  }

  @Test
  void settledEntriesAreNotRenewedAndAFullySettledBatchIsForgotten() {
    Leases leases = leases();
    Leases.Lease[] held = hold(leases, "1-0", "2-0");
    held[1].done();
    held[1].done(); // settling twice counts once

    assertThat(leases.heldCount()).isEqualTo(1);
    assertThat(due(leases, System.nanoTime())).containsExactly("1-0");
    held[0].done();
    held[0].started(SECOND); // a handling reported after its settle does not revive it
    assertThat(leases.heldCount()).isZero();
    assertThat(due(leases, System.nanoTime())).isEmpty();
  }

  // ------------------------------------------------------------- one renewal in Redis

  @Test
  void aRenewalResetsTheIdleTimeOfOwnEntriesKeepsTheirCountAndNeverTakesAnothersEntry()
      throws Exception {
    String stream = TestRedis.uniqueStream("renew");
    raw.sync().xgroupCreate(XReadArgs.StreamOffset.from(stream, "0"), "necrostack",
        XGroupCreateArgs.Builder.mkstream(true));
    String mine = raw.sync().xadd(stream, Map.of("event", "{}"));
    String theirs = raw.sync().xadd(stream, Map.of("event", "{}"));
    String deleted = raw.sync().xadd(stream, Map.of("event", "{}"));
    read(stream, "me", 1);
    read(stream, "other", 1);
    read(stream, "me", 1);
    raw.sync().xdel(stream, deleted); // XDEL leaves it pending
    awaitIdleOver(stream, "me", 200);

    try (RedisConnections redis = new RedisConnections(config(stream, "me"))) {
      Leases leases = new Leases(config(stream, "me"), redis);
      hold(leases, mine, theirs, deleted);
      leases.renew();

      List<PendingMessage> own = pending(stream, "me");
      assertThat(own).extracting(PendingMessage::getId).containsExactly(mine, deleted);
      assertThat(own.get(0).getMsSinceLastDelivery()).isLessThan(200);
      assertThat(own.get(1).getMsSinceLastDelivery()).isGreaterThan(200);
      assertThat(own).extracting(PendingMessage::getRedeliveryCount).containsOnly(1L);
      List<PendingMessage> others = pending(stream, "other");
      assertThat(others).extracting(PendingMessage::getId).containsExactly(theirs);
      // Not this consumer's: no longer held. Deleted: left pending, for its settle to find.
      assertThat(leases.heldCount()).isEqualTo(2);
      assertThat(due(leases, System.nanoTime())).containsExactly(mine);
    }
  }

  @SuppressWarnings("unchecked") // the varargs of one StreamOffset<String>
  private static void read(String stream, String consumer, int count) {
    List<StreamMessage<String, String>> got = raw.sync().xreadgroup(
        Consumer.from("necrostack", consumer), XReadArgs.Builder.count(count),
        XReadArgs.StreamOffset.lastConsumed(stream));
    assertThat(got).hasSize(count);
  }

  private static List<PendingMessage> pending(String stream, String consumer) {
    return raw.sync().xpending(stream, Consumer.from("necrostack", consumer),
        Range.create("-", "+"), Limit.from(10));
  }

  private static void awaitIdleOver(String stream, String consumer, long millis) {
    await().atMost(Duration.ofSeconds(10)).until(() -> pending(stream, consumer).stream()
        .allMatch(p -> p.getMsSinceLastDelivery() > millis));
  }
}
