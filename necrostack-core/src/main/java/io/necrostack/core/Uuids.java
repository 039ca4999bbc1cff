package io.necrostack.core;

import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;

/** Random (version 4) UUIDs: fast generation and strict parsing. */
final class Uuids {
  private Uuids() {}

  /**
   * A new random UUID of version 4.
   *
   * <p>Event ids need uniqueness, not secrecy, so this draws from {@link ThreadLocalRandom}
   * instead of {@link UUID#randomUUID()}, whose SecureRandom is a shared lock and costs
   * microseconds per id on the hot path.
   */
  static UUID randomV4() {
    ThreadLocalRandom random = ThreadLocalRandom.current();
    long msb = (random.nextLong() & 0xffffffffffff0fffL) | 0x0000000000004000L;
    long lsb = (random.nextLong() & 0x3fffffffffffffffL) | 0x8000000000000000L;
    return new UUID(msb, lsb);
  }

  /** Whether the UUID is of version 4 with the RFC 4122 variant, as Python's UUID4 requires. */
  static boolean isV4(UUID uuid) {
    return uuid.version() == 4 && uuid.variant() == 2;
  }

  /**
   * Parses a UUID in the hyphenated 8-4-4-4-12 form or as 32 hex digits, in either case.
   *
   * @throws EventValidationException naming {@code field} if the text is not a version-4 UUID
   */
  static UUID parseV4(String text, String field) {
    String hex;
    if (text.length() == 36) {
      if (text.charAt(8) != '-'
          || text.charAt(13) != '-'
          || text.charAt(18) != '-'
          || text.charAt(23) != '-') {
        throw notUuid(text, field);
      }
      hex =
          text.substring(0, 8)
              + text.substring(9, 13)
              + text.substring(14, 18)
              + text.substring(19, 23)
              + text.substring(24);
    } else if (text.length() == 32) {
      hex = text;
    } else {
      throw notUuid(text, field);
    }
    long msb = 0;
    long lsb = 0;
    for (int i = 0; i < 32; i++) {
      char c = hex.charAt(i);
      // ASCII only: Character.digit also takes fullwidth and other scripts' digits.
      int digit = c < 128 ? Character.digit(c, 16) : -1;
      if (digit < 0) {
        throw notUuid(text, field);
      }
      if (i < 16) {
        msb = (msb << 4) | digit;
      } else {
        lsb = (lsb << 4) | digit;
      }
    }
    UUID uuid = new UUID(msb, lsb);
    if (!isV4(uuid)) {
      throw new EventValidationException(
          field, "must be a version-4 UUID, got version " + uuid.version() + ": '" + text + "'");
    }
    return uuid;
  }

  private static EventValidationException notUuid(String text, String field) {
    String shown = text.length() > 60 ? text.substring(0, 60) + "..." : text;
    return new EventValidationException(field, "not a UUID: '" + shown + "'");
  }
}
