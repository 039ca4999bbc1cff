/**
 * The fault, load and bad-input suite's runtime pieces: the {@link io.necrostack.faults.Worker}
 * process the tests launch, crash and restart (it waits for an unreachable Redis with {@link
 * io.necrostack.redis.RedisBackend#connect}). The scenarios themselves are the tests
 * of this module; {@code docs/RELIABILITY.md} lists them with their figures.
 */
package io.necrostack.faults;
