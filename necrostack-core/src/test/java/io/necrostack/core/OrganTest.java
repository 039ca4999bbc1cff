package io.necrostack.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.necrostack.backend.InMemoryBackend;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** Organs as classes and lambdas, and their validation at registration. */
class OrganTest {

  static final class GreetOrgan implements Organ {
    @Override
    public Set<String> listensTo() {
      return Set.of("GREET");
    }

    @Override
    public Emission handle(Event event) {
      return Event.of("GREETED");
    }
  }

  /** An organ whose parts are all chosen by the test. */
  private static Organ organ(String name, Set<String> listensTo, Set<String> emits) {
    return new Organ() {
      @Override
      public String name() {
        return name;
      }

      @Override
      public Set<String> listensTo() {
        return listensTo;
      }

      @Override
      public Set<String> emits() {
        return emits;
      }

      @Override
      public Emission handle(Event event) {
        return Emission.none();
      }
    };
  }

  private static Set<String> setOf(String... types) {
    return new LinkedHashSet<>(java.util.Arrays.asList(types)); // allows null
  }

  private static IllegalArgumentException buildFails(Organ... organs) {
    IllegalArgumentException e =
        org.assertj.core.api.Assertions.catchThrowableOfType(
            IllegalArgumentException.class,
            () -> Spine.builder().backend(new InMemoryBackend()).organs(organs).build());
    assertThat(e).as("build should fail").isNotNull();
    return e;
  }

  @Test
  void theDefaultNameIsTheClassSimpleName() {
    assertThat(new GreetOrgan().name()).isEqualTo("GreetOrgan");
    assertThat(new GreetOrgan().emits()).isEmpty();
  }

  @Test
  void anAnonymousOrganIsNamedByItsBinaryName() {
    Organ anonymous =
        new Organ() {
          @Override
          public Set<String> listensTo() {
            return Set.of("A");
          }

          @Override
          public Emission handle(Event event) {
            return null;
          }
        };
    assertThat(anonymous.name()).isNotBlank().startsWith(OrganTest.class.getName() + "$");
  }

  @Test
  void aLambdaOrganListensToOneTypeAndIsNamedAfterIt() throws Exception {
    Organ organ = Organ.on("GREET", e -> Event.of("GREETED", e.payload()));
    assertThat(organ.name()).isEqualTo("on(GREET)");
    assertThat(organ.listensTo()).containsExactly("GREET");
    assertThat(organ.emits()).isEmpty();
    Emission out = organ.handle(Event.of("GREET", java.util.Map.of("name", "x")));
    assertThat(out).isInstanceOf(Event.class);
    assertThat(((Event) out).eventType()).isEqualTo("GREETED");
  }

  @Test
  void anAsyncLambdaOrganCompletesLater() throws Exception {
    AsyncOrgan organ =
        Organ.onAsync("GREET", e -> CompletableFuture.supplyAsync(() -> Event.of("GREETED")));
    assertThat(organ.name()).isEqualTo("on(GREET)");
    Emission out = organ.handleAsync(Event.of("GREET")).toCompletableFuture().get();
    assertThat(((Event) out).eventType()).isEqualTo("GREETED");
    // handle() waits for the stage, for code that treats organs alike.
    assertThat(((Event) organ.handle(Event.of("GREET"))).eventType()).isEqualTo("GREETED");
  }

  @Test
  void asyncHandleRethrowsTheStagesFailure() {
    AsyncOrgan organ =
        Organ.onAsync(
            "A", e -> CompletableFuture.failedFuture(new IllegalStateException("broken")));
    assertThatThrownBy(() -> organ.handle(Event.of("A")))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("broken");
  }

  @Test
  void theBuilderNamesAndDeclares() throws Exception {
    Organ organ =
        Organ.builder("Greeter")
            .listensTo("GREET", "HELLO")
            .emits("GREETED")
            .handle(e -> Emission.of(Event.of("GREETED"), Event.of("GREETED")));
    assertThat(organ.name()).isEqualTo("Greeter");
    assertThat(organ.listensTo()).containsExactly("GREET", "HELLO");
    assertThat(organ.emits()).containsExactly("GREETED");
    assertThat(((Emission.Events) organ.handle(Event.of("GREET"))).list()).hasSize(2);
    assertThatThrownBy(() -> organ.listensTo().add("X"))
        .isInstanceOf(UnsupportedOperationException.class);
  }

  @Test
  void emissionsKeepOrderAndNoneIsEmpty() {
    Event a = Event.of("A");
    Event b = Event.of("B");
    assertThat(((Emission.Events) Emission.of(a, b)).list()).containsExactly(a, b);
    assertThat(((Emission.Events) Emission.of(List.of(b, a))).list()).containsExactly(b, a);
    assertThat(((Emission.Events) Emission.none()).list()).isEmpty();
    assertThat(Emission.of(List.of())).isSameAs(Emission.none());
    assertThatThrownBy(() -> Emission.of(a, null)).isInstanceOf(NullPointerException.class);
  }

  @Test
  void registrationRejectsNullAndBlankTypesNamingTheOrgan() {
    IllegalArgumentException e =
        buildFails(
            organ("Nully", setOf("A", null), Set.of()), organ("Blanky", setOf(" "), Set.of()));
    assertThat(e.getMessage())
        .contains("organ 'Nully' has a null event type in listensTo")
        .contains("organ 'Blanky' has a blank event type in listensTo");
  }

  @Test
  void registrationRejectsBadEmitsNamingTheOrgan() {
    IllegalArgumentException e =
        buildFails(
            organ("Emitter", Set.of("A"), setOf("OK", "")),
            organ("NullEmits", Set.of("A"), null));
    assertThat(e.getMessage())
        .contains("organ 'Emitter' has a blank event type in emits")
        .contains("organ 'NullEmits'");
  }

  @Test
  void registrationRejectsDuplicateNames() {
    IllegalArgumentException e =
        buildFails(Organ.on("A", ev -> null), Organ.on("A", ev -> null));
    assertThat(e.getMessage())
        .contains("duplicate organ name 'on(A)'")
        .contains("#1")
        .contains("#2");
  }

  @Test
  void registrationRejectsAnOrganThatListensToNothing() {
    IllegalArgumentException e =
        buildFails(organ("Deaf", Set.of(), Set.of()), organ("Nothing", null, Set.of()));
    assertThat(e.getMessage())
        .contains("organ 'Deaf' listens to nothing")
        .contains("organ 'Nothing' listens to nothing");
    IllegalArgumentException fromBuilder =
        buildFails(Organ.builder("Silent").handle(ev -> null));
    assertThat(fromBuilder.getMessage()).contains("organ 'Silent' listens to nothing");
  }

  @Test
  void registrationRejectsPaddedTypes() {
    assertThat(buildFails(Organ.on(" A ", ev -> null)).getMessage())
        .contains("' A '")
        .contains("whitespace");
  }

  @Test
  void registrationListsEveryProblemAtOnce() {
    IllegalArgumentException e =
        buildFails(
            organ("Deaf", Set.of(), Set.of()),
            organ("Twin", Set.of("A"), Set.of()),
            organ("Twin", Set.of("B"), Set.of()),
            organ("Blanky", setOf("\t"), Set.of()),
            null,
            organ(" ", Set.of("C"), Set.of()));
    assertThat(e.getMessage())
        .contains("organ 'Deaf' listens to nothing")
        .contains("duplicate organ name 'Twin'")
        .contains("organ 'Blanky' has a blank event type")
        .contains("organ #5 is null")
        .contains("organ #6")
        .contains("blank name");
  }

  @Test
  void theSpineBuilderValidatesItsOptionsToo() {
    IllegalArgumentException e =
        org.assertj.core.api.Assertions.catchThrowableOfType(
            IllegalArgumentException.class,
            () -> Spine.builder().maxSteps(0).batchSize(0).maxPullFailures(0)
                .pollTimeout(java.time.Duration.ofMillis(-1)).build());
    assertThat(e.getMessage())
        .contains("backend is required")
        .contains("at least one organ is required")
        .contains("maxSteps")
        .contains("batchSize")
        .contains("maxPullFailures")
        .contains("pollTimeout");
  }

  @Test
  void aValidSetOfOrgansBuildsWithItsRoutingTable() {
    Organ a = Organ.builder("First").listensTo("GREET", "X").handle(ev -> null);
    Organ b = Organ.builder("Second").listensTo("GREET").handle(ev -> null);
    Spine spine = Spine.builder().backend(new InMemoryBackend()).organs(a, b).build();
    assertThat(spine.organs()).containsExactly(a, b);
    assertThat(spine.routes())
        .containsExactly(
            java.util.Map.entry("GREET", List.of("First", "Second")),
            java.util.Map.entry("X", List.of("First")));
  }
}
