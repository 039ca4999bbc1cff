package io.necrostack;

import static org.assertj.core.api.Assertions.assertThat;

import io.necrostack.core.Event;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.PrintStream;
import java.lang.reflect.Method;
import java.net.URISyntaxException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * Compiles and runs the README's quickstart exactly as written, so the README cannot rot.
 */
class ReadmeQuickstartTest {

  @Test
  @Timeout(value = 60, unit = TimeUnit.SECONDS)
  void theReadmeQuickstartCompilesAndPrintsHello(@TempDir Path dir) throws Exception {
    String readme = Files.readString(Path.of("..", "README.md"), StandardCharsets.UTF_8);
    Matcher block =
        Pattern.compile("## Quickstart.*?```java\\n(.*?)```", Pattern.DOTALL).matcher(readme);
    assertThat(block.find()).as("README has a java block under '## Quickstart'").isTrue();
    String source = block.group(1);
    assertThat(source).contains("public class Quickstart");
    Path file = dir.resolve("Quickstart.java");
    Files.writeString(file, source, StandardCharsets.UTF_8);

    JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
    ByteArrayOutputStream errors = new ByteArrayOutputStream();
    int status = javac.run(null, null, errors,
        "-d", dir.toString(), "-classpath", classpath(), file.toString());
    assertThat(status).as("javac: " + errors.toString(StandardCharsets.UTF_8)).isZero();

    ByteArrayOutputStream out = new ByteArrayOutputStream();
    PrintStream original = System.out;
    try (URLClassLoader loader =
        new URLClassLoader(new URL[] {dir.toUri().toURL()}, getClass().getClassLoader())) {
      Method main = loader.loadClass("Quickstart").getMethod("main", String[].class);
      System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
      main.invoke(null, (Object) new String[0]);
    } finally {
      System.setOut(original);
    }
    assertThat(out.toString(StandardCharsets.UTF_8).lines()).containsExactly("Hello, NecroStack!");
  }

  /** The compile classpath: where core and its dependencies were loaded from. */
  private static String classpath() throws URISyntaxException {
    List<Class<?>> anchors =
        List.of(Event.class, LoggerFactory.class, tools.jackson.databind.ObjectMapper.class,
            tools.jackson.core.JsonParser.class);
    StringBuilder cp = new StringBuilder();
    for (Class<?> anchor : anchors) {
      if (cp.length() > 0) {
        cp.append(File.pathSeparator);
      }
      cp.append(Path.of(anchor.getProtectionDomain().getCodeSource().getLocation().toURI()));
    }
    return cp.toString();
  }
}
