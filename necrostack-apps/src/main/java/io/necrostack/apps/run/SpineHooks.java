package io.necrostack.apps.run;

import io.necrostack.core.Spine;
import java.util.List;

/**
 * Hooks around the Spine of one run, used by the command line to add metrics without the apps
 * knowing about them.
 */
public interface SpineHooks {
  /** Hooks that do nothing. */
  SpineHooks NONE = new SpineHooks() {};

  /** Called before the Spine is built: add observers here. */
  default void configure(Spine.Builder builder) {}

  /** Called once the Spine is built, before it handles the first event. */
  default void built(Spine spine) {}

  /** These hooks, each called in turn. */
  static SpineHooks all(SpineHooks... hooks) {
    List<SpineHooks> list = List.of(hooks);
    return new SpineHooks() {
      @Override
      public void configure(Spine.Builder builder) {
        list.forEach(h -> h.configure(builder));
      }

      @Override
      public void built(Spine spine) {
        list.forEach(h -> h.built(spine));
      }
    };
  }
}
