package io.necrostack.apps.cli;

import java.io.BufferedOutputStream;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/** Entry point of the {@code necrostack} command line; see {@code necrostack --help}. */
public final class Main {
  private Main() {}

  /** Runs the command line and exits with its code: 0 success, 1 failure, 2 usage error. */
  public static void main(String[] args) {
    // UTF-8 whatever the platform's default: the séance and CSV data are not ASCII, and
    // Java 17 would otherwise print them in the locale's charset (often ASCII in containers).
    PrintStream out = utf8(FileDescriptor.out);
    PrintStream err = utf8(FileDescriptor.err);
    int code = Cli.execute(new CliIo(out, err, System.console() != null), args);
    out.flush();
    err.flush();
    System.exit(code);
  }

  private static PrintStream utf8(FileDescriptor fd) {
    return new PrintStream(
        new BufferedOutputStream(new FileOutputStream(fd), 1 << 16), true, StandardCharsets.UTF_8);
  }
}
