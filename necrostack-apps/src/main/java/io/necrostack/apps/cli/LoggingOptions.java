package io.necrostack.apps.cli;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import java.util.Locale;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Option;
import picocli.CommandLine.TypeConversionException;

/**
 * The {@code --log-level} option, mixed into every command.
 *
 * <p>Logs go to stderr as JSON lines (see {@code logback.xml}); the default level, WARN, keeps
 * the demos' stderr clean. picocli calls the setter with the default before parsing and with
 * the given value while parsing, so the level is in place before the command runs.
 */
final class LoggingOptions {
  /** The level used when {@code --log-level} is not given. */
  static final String DEFAULT_LEVEL = "WARN";

  @Option(
      names = "--log-level",
      paramLabel = "LEVEL",
      defaultValue = DEFAULT_LEVEL,
      converter = LevelConverter.class,
      description = "Level of the JSON logs on stderr: TRACE, DEBUG, INFO, WARN, ERROR or OFF"
          + " (default: ${DEFAULT-VALUE}).")
  void setLogLevel(Level level) {
    apply(level);
  }

  /** Sets the root logger's level. */
  static void apply(Level level) {
    if (LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME) instanceof Logger root) {
      root.setLevel(level);
    }
  }

  /** Parses a level name; an unknown name is a usage error, not Logback's silent DEBUG. */
  static final class LevelConverter implements ITypeConverter<Level> {
    @Override
    public Level convert(String value) {
      String name = value.strip().toUpperCase(Locale.ROOT);
      if (!name.matches("TRACE|DEBUG|INFO|WARN|ERROR|OFF")) {
        throw new TypeConversionException(
            "unknown log level '" + value + "': expected TRACE, DEBUG, INFO, WARN, ERROR or OFF");
      }
      return Level.toLevel(name);
    }
  }
}
