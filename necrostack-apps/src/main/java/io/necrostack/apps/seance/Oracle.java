package io.necrostack.apps.seance;

import io.necrostack.core.Emission;
import io.necrostack.core.Event;
import io.necrostack.core.Organ;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/** Lets the spirit answer the question. */
final class Oracle implements Organ {
  private static final long SALT = 2;

  @Override
  public Map<String, Class<?>> payloadTypes() {
    return SeancePayloads.of(SeanceEvents.SPIRIT_APPEARED, SeanceEvents.ANSWER_GENERATED);
  }

  @Override
  public Set<String> listensTo() {
    return Set.of(SeanceEvents.SPIRIT_APPEARED);
  }

  @Override
  public Set<String> emits() {
    return Set.of(SeanceEvents.ANSWER_GENERATED);
  }

  @Override
  public String name() {
    return "Oracle";
  }

  @Override
  public Emission handle(Event event) {
    Map<String, Object> payload = new LinkedHashMap<>(event.payload());
    payload.put("answer", Stage.pick(Stage.random(event, SALT), Lore.ANSWERS));
    return Event.of(SeanceEvents.ANSWER_GENERATED, payload);
  }
}
