package io.necrostack.apps.etl;

import java.nio.file.Path;

/**
 * What to extract and how.
 *
 * @param input the CSV file, or null for the built-in employees sample
 * @param chunkSize rows per chunk event, from 1 to {@link #MAX_CHUNK_SIZE}
 */
public record EtlRequest(Path input, int chunkSize) {
  /** Rows per chunk when none is given. */
  public static final int DEFAULT_CHUNK_SIZE = 1_000;

  /**
   * The largest chunk: a chunk travels as one event, and an event's payload is limited to
   * {@value io.necrostack.core.Event#MAX_PAYLOAD_BYTES} bytes.
   */
  public static final int MAX_CHUNK_SIZE = 10_000;

  /**
   * Validates the chunk size.
   *
   * @throws IllegalArgumentException if the chunk size is out of range
   */
  public EtlRequest {
    if (chunkSize < 1 || chunkSize > MAX_CHUNK_SIZE) {
      throw new IllegalArgumentException(
          "chunk size must be between 1 and " + MAX_CHUNK_SIZE + ", got " + chunkSize);
    }
  }

  /** The built-in sample with the default chunk size. */
  public static EtlRequest sample() {
    return new EtlRequest(null, DEFAULT_CHUNK_SIZE);
  }

  /** A readable name of the input. */
  public String sourceName() {
    return input == null ? CsvSource.SAMPLE_NAME : input.toString();
  }
}
