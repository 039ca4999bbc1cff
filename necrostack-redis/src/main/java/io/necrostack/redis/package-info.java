/**
 * The Redis Streams backend: {@link io.necrostack.redis.RedisBackend}, its {@link
 * io.necrostack.redis.RedisBackendConfig configuration} and the {@link
 * io.necrostack.redis.RedisDeadLetters dead-letter tools}.
 *
 * <h2>Entry layout (shared with the Python original)</h2>
 *
 * <ul>
 *   <li>Field {@code event}: exactly {@code Event.toJson()}, the four-field JSON ({@code id},
 *       {@code timestamp}, {@code event_type}, {@code payload}).
 *   <li>Fields {@code correlation_id}, {@code causation_id}, {@code depth}: those metadata
 *       keys; field {@code meta.<key>}: any other metadata key. The Python original ignores
 *       them; this backend puts them back into the event's metadata. Other fields are
 *       ignored.
 * </ul>
 *
 * <h2>Dead-letter entry layout</h2>
 *
 * <p>{@code original_id}, {@code event} (raw; empty if the entry had none), {@code reason},
 * {@code failed_at} (ISO-8601 UTC with microseconds and {@code +00:00}, as Python's {@code
 * isoformat()}), as the Python original writes them; then {@code delivery_count}, {@code
 * error_class} ({@code Nack}, {@code MalformedEntry}, {@code MaxDeliveriesExceeded}, {@code
 * EntryTooLarge} or {@code BadDelayedMember}), {@code stream}, {@code group}, {@code consumer},
 * the entry's metadata fields, and {@code entry} (all fields as a JSON object) when the entry
 * had no {@code event} field. An entry over the read limits ({@code EntryTooLarge}) keeps only
 * the first 64 KiB of its {@code event} field (or of its fields as JSON, in {@code
 * entry_prefix}), with {@code original_size} (bytes) and {@code original_fields}; so does a
 * member of the delayed set that this backend cannot have written ({@code BadDelayedMember}).
 */
package io.necrostack.redis;
