package io.necrostack;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

// quickstart:begin
import io.necrostack.backend.InMemoryBackend;
import io.necrostack.core.Emission;
import io.necrostack.core.Event;
import io.necrostack.core.Organ;
import io.necrostack.core.Spine;
import io.necrostack.core.SpineStats;
import java.io.PrintStream;
import java.util.Map;
import java.util.Set;

/** Answers every GREET with a GREETED event. */
class GreetOrgan implements Organ {
  @Override
  public Set<String> listensTo() {
    return Set.of("GREET");
  }

  @Override
  public Emission handle(Event event) {
    Object name = event.payload().getOrDefault("name", "World");
    return Event.of("GREETED", Map.of("message", "Hello, " + name + "!"));
  }
}

/** Prints the message of every GREETED event. */
class PrintOrgan implements Organ {
  private final PrintStream out;

  PrintOrgan(PrintStream out) {
    this.out = out;
  }

  @Override
  public Set<String> listensTo() {
    return Set.of("GREETED");
  }

  @Override
  public Emission handle(Event event) {
    out.println(event.payload().get("message"));
    return Emission.none();
  }
}

class Quickstart {
  public static void main(String[] args) {
    run(System.out);
  }

  static SpineStats run(PrintStream out) {
    Spine spine =
        Spine.builder()
            .backend(new InMemoryBackend())
            .organs(new GreetOrgan(), new PrintOrgan(out))
            .build();
    // Returns once the in-memory backend is drained: GREET -> GREETED -> printed.
    return spine.run(Event.of("GREET", Map.of("name", "NecroStack")));
  }
}
// quickstart:end

/** The README's quickstart, compiled and run so it cannot rot. */
class QuickstartTest {

  @Test
  @Timeout(10)
  void theQuickstartPrintsTheGreeting() {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);

    SpineStats stats = Quickstart.run(out);

    assertThat(bytes.toString(StandardCharsets.UTF_8))
        .isEqualTo("Hello, NecroStack!" + System.lineSeparator());
    assertThat(stats.processed()).isEqualTo(2);
    assertThat(stats.emitted()).isEqualTo(1);
    assertThat(stats.totalHandlerErrors()).isZero();
    assertThat(stats.totalUnhandled()).isZero();
  }

  @Test
  @Timeout(10)
  void theLambdaQuickstartPrintsTheGreeting() {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);

    // quickstart-lambdas:begin
    Spine spine =
        Spine.builder()
            .backend(new InMemoryBackend())
            .organs(
                Organ.on("GREET", event ->
                    Event.of("GREETED",
                        Map.of("message", "Hello, " + event.payload().get("name") + "!"))),
                Organ.on("GREETED", event -> {
                  out.println(event.payload().get("message"));
                  return Emission.none();
                }))
            .build();
    spine.run(Event.of("GREET", Map.of("name", "NecroStack")));
    // quickstart-lambdas:end

    assertThat(bytes.toString(StandardCharsets.UTF_8))
        .isEqualTo("Hello, NecroStack!" + System.lineSeparator());
  }
}
