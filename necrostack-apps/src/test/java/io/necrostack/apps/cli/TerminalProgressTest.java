package io.necrostack.apps.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 10, unit = TimeUnit.SECONDS)
class TerminalProgressTest {
  private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
  private final AtomicLong now = new AtomicLong(1_000_000_000L);
  private final TerminalProgress progress =
      new TerminalProgress(new PrintStream(bytes, true, StandardCharsets.UTF_8), now::get);

  @Test
  void aShortRunShowsNothing() {
    progress.rowsRead(1_000, false);
    now.addAndGet(TimeUnit.MILLISECONDS.toNanos(100));
    progress.rowsRead(2_000, true);
    progress.finish();

    assertThat(printed()).isEmpty();
  }

  @Test
  void aLongRunRewritesOneLineWithRowsAndRateThenEndsIt() {
    now.addAndGet(TimeUnit.SECONDS.toNanos(1));
    progress.rowsRead(50_000, false);
    now.addAndGet(TimeUnit.MILLISECONDS.toNanos(100)); // under the interval: not shown
    progress.rowsRead(60_000, false);
    now.addAndGet(TimeUnit.SECONDS.toNanos(1));
    progress.rowsRead(100_000, true);
    progress.finish(); // already closed by the last chunk: prints nothing more

    assertThat(printed())
        .isEqualTo("\r  rows read: 50,000  (50,000 rows/s)   "
            + "\r  rows read: 100,000  (47,619 rows/s)   \n");
  }

  private String printed() {
    return bytes.toString(StandardCharsets.UTF_8);
  }
}
