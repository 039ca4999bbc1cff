package io.necrostack.apps.cli;

import io.necrostack.redis.RedisBackendConfig;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * A Redis URL given on the command line, {@code redis://[user:password@]host[:port][/db]} or
 * {@code rediss://...} for TLS. {@link #toString()} hides the password.
 *
 * @param url the URL as given, password included: never print it
 */
record RedisUrl(String url) {
  /** The URL used when {@code --redis} is not given. */
  static final String DEFAULT = RedisBackendConfig.DEFAULT_URL;

  /**
   * Checks the URL the way the Redis backend will.
   *
   * @throws IllegalArgumentException naming the problem, with the password redacted
   */
  static RedisUrl parse(String value) {
    String v = value == null ? "" : value.strip();
    try {
      RedisBackendConfig.builder().url(v).build();
    } catch (IllegalArgumentException e) {
      // The backend's own message already redacts the password.
      throw new IllegalArgumentException(
          e.getMessage().replace("invalid Redis backend configuration: ", "invalid Redis URL: "));
    }
    return new RedisUrl(v);
  }

  /** The URL with the password replaced by {@code ***}. */
  String redacted() {
    return redact(url);
  }

  /** Any text that may be a URL with credentials, with the password replaced by ***. */
  static String redact(String text) {
    return RedisBackendConfig.redact(text);
  }

  @Override
  public String toString() {
    return redacted();
  }

  /** Lets picocli parse {@code --redis}; a bad URL is a usage error. */
  static final class Converter implements ITypeConverter<RedisUrl> {
    @Override
    public RedisUrl convert(String value) {
      try {
        return parse(value);
      } catch (IllegalArgumentException e) {
        throw new TypeConversionException(e.getMessage());
      }
    }
  }
}
