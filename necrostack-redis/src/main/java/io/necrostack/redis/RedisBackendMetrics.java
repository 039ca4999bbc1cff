package io.necrostack.redis;

/**
 * Counters of one {@link RedisBackend} since it was created, all in entries unless named
 * otherwise.
 *
 * @param enqueued entries added to the stream by enqueue and commit
 * @param pulled deliveries handed out by pull (new, recovered and claimed)
 * @param acked entries acknowledged by ack, ackAll and commit
 * @param deadLettered entries moved to the dead-letter stream (nack, malformed, too many
 *     deliveries)
 * @param reclaimed entries taken over from idle consumers by claim rounds
 * @param reconnections times a connection to Redis was re-established
 * @param fencedCommits commits refused because the entry was no longer pending for this
 *     consumer (claimed by another); their emitted events were not written
 * @param lostEntries pending entries found deleted or trimmed from the stream
 * @param undecodableDelayed members of the delayed set that were not a delayed event (written
 *     there by someone else): removed, each logged with its first 200 bytes
 * @param refusedSettles buffered settles Redis refused with an error reply (out of memory),
 *     entry by entry: nothing written, the entry still pending, reported to the consumer
 *     ({@link RedisBackend#takeRefusedSettles()}) for its emit-failure policy
 */
public record RedisBackendMetrics(
    long enqueued,
    long pulled,
    long acked,
    long deadLettered,
    long reclaimed,
    long reconnections,
    long fencedCommits,
    long lostEntries,
    long undecodableDelayed,
    long refusedSettles) {}
