package io.necrostack.apps.cli;

import io.necrostack.backend.Backend;
import io.necrostack.backend.InMemoryBackend;
import java.util.Locale;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * The backend named by {@code --backend}: {@code memory} (the default) or, once the Redis
 * module is part of this build, a {@code redis://host:port} URL.
 *
 * <p>The choice is parsed when the command line is read, so a bad value is a usage error
 * (exit code 2) before anything runs; the backend itself is opened by {@link #open()}.
 */
sealed interface BackendChoice {

  /** Opens the chosen backend; the caller closes it. */
  Backend open();

  /** The embedded in-memory backend: a run ends when its queue is drained. */
  record Memory() implements BackendChoice {
    @Override
    public Backend open() {
      return new InMemoryBackend();
    }

    @Override
    public String toString() {
      return "memory";
    }
  }

  /**
   * Parses a {@code --backend} value.
   *
   * @throws IllegalArgumentException saying what is accepted
   */
  static BackendChoice parse(String value) {
    String v = value == null ? "" : value.strip();
    String lower = v.toLowerCase(Locale.ROOT);
    if (lower.equals("memory") || lower.equals("in-memory")) {
      return new Memory();
    }
    if (lower.startsWith("redis://") || lower.startsWith("rediss://")) {
      // Plug point: the Redis module adds a record here that opens a RedisBackend.
      throw new IllegalArgumentException(
          "the Redis backend is not in this build yet (" + v + "); use --backend memory");
    }
    throw new IllegalArgumentException(
        "unknown backend '" + v + "': expected 'memory' (or redis://host:port once the Redis"
            + " backend is in the build)");
  }

  /** Lets picocli parse {@code --backend}, turning a bad value into a usage error. */
  final class Converter implements ITypeConverter<BackendChoice> {
    @Override
    public BackendChoice convert(String value) {
      try {
        return parse(value);
      } catch (IllegalArgumentException e) {
        throw new TypeConversionException(e.getMessage());
      }
    }
  }
}
