package io.necrostack.apps.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.necrostack.apps.seance.SeanceRequest;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs {@code ./necrostack seance --seed 7} as a newcomer would: in a fresh copy of the
 * sources with nothing built, so the launcher has to build the jar itself.
 *
 * <p>The copy holds what a clone holds (no {@code target} directories), which also keeps the
 * launcher's build away from the build running this test.
 */
class LauncherScriptTest {
  private static final long BUILD_TIMEOUT_MINUTES = 5;

  @TempDir Path clone;

  @Test
  @Timeout(value = BUILD_TIMEOUT_MINUTES + 2, unit = TimeUnit.MINUTES)
  void aFreshCloneRunsTheSeanceAndBuildsOnlyOnce() throws Exception {
    Path root = repositoryRoot();
    assertThat(Files.isExecutable(root.resolve("necrostack"))).as("executable").isTrue();
    copySources(root, clone);
    assertThat(clone.resolve("necrostack-apps/target")).doesNotExist();

    Result first = launch(clone, "seance", "--seed", "7");

    assertThat(first.code()).as("exit code; stderr:\n%s", first.err()).isZero();
    assertThat(first.out())
        .as("stdout is only the séance: build output goes to stderr")
        .isEqualTo(CliTest.seance(new SeanceRequest(null, null, null, OptionalLong.of(7))));
    assertThat(first.err()).contains("necrostack: building the command line");
    assertThat(clone.resolve("necrostack-apps/target/necrostack.jar")).isRegularFile();

    Result second = launch(clone, "seance", "--seed", "7");

    assertThat(second.code()).isZero();
    assertThat(second.out()).isEqualTo(first.out());
    assertThat(second.err()).as("the jar is up to date: no second build").isEmpty();

    assertThat(launch(clone, "etl", "--input", "missing.csv").code()).isEqualTo(1);
    assertThat(launch(clone, "seance", "--volume", "11").code()).isEqualTo(2);
  }

  private record Result(int code, String out, String err) {}

  private static Result launch(Path dir, String... args) throws Exception {
    Path out = Files.createTempFile("necrostack-out", ".txt");
    Path err = Files.createTempFile("necrostack-err", ".txt");
    try {
      List<String> command = new java.util.ArrayList<>(List.of("./necrostack"));
      command.addAll(List.of(args));
      Process process =
          new ProcessBuilder(command)
              .directory(dir.toFile())
              .redirectOutput(out.toFile())
              .redirectError(err.toFile())
              .redirectInput(ProcessBuilder.Redirect.from(nullDevice()))
              .start();
      if (!process.waitFor(BUILD_TIMEOUT_MINUTES, TimeUnit.MINUTES)) {
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
        throw new AssertionError("./necrostack did not finish within " + BUILD_TIMEOUT_MINUTES
            + " minutes; stderr:\n" + Files.readString(err));
      }
      return new Result(
          process.exitValue(),
          Files.readString(out, StandardCharsets.UTF_8),
          Files.readString(err, StandardCharsets.UTF_8));
    } finally {
      Files.deleteIfExists(out);
      Files.deleteIfExists(err);
    }
  }

  private static java.io.File nullDevice() {
    return new java.io.File("/dev/null");
  }

  /** The repository root: the parent of this module, where the launcher lives. */
  private static Path repositoryRoot() {
    Path module = Path.of("").toAbsolutePath();
    Path root = module.getParent();
    assertThat(root.resolve("necrostack")).as("launcher script at the repository root")
        .isRegularFile();
    return root;
  }

  /** Copies what a clone would hold: everything but build output and VCS/IDE files. */
  private static void copySources(Path from, Path to) throws IOException {
    try (Stream<Path> paths = Files.walk(from)) {
      paths
          .filter(p -> !excluded(from.relativize(p)))
          .forEach(
              p -> {
                Path target = to.resolve(from.relativize(p).toString());
                try {
                  if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                  } else {
                    Files.copy(p, target, StandardCopyOption.COPY_ATTRIBUTES);
                  }
                } catch (IOException e) {
                  throw new UncheckedIOException(e);
                }
              });
    }
  }

  private static boolean excluded(Path relative) {
    for (Path part : relative) {
      String name = part.toString();
      if (name.equals("target") || name.equals(".git") || name.equals(".idea")) {
        return true;
      }
    }
    return false;
  }
}
