package io.necrostack.apps.seance;

import io.necrostack.core.Emission;
import io.necrostack.core.Event;
import io.necrostack.core.Organ;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/** Reads the omen that closes the séance, with a certainty and a lucky number. */
final class OmenReader implements Organ {
  private static final long SALT = 3;

  @Override
  public Map<String, Class<?>> payloadTypes() {
    return SeancePayloads.of(SeanceEvents.ANSWER_GENERATED, SeanceEvents.OMEN_REVEALED);
  }

  @Override
  public Set<String> listensTo() {
    return Set.of(SeanceEvents.ANSWER_GENERATED);
  }

  @Override
  public Set<String> emits() {
    return Set.of(SeanceEvents.OMEN_REVEALED);
  }

  @Override
  public String name() {
    return "OmenReader";
  }

  @Override
  public Emission handle(Event event) {
    Random random = Stage.random(event, SALT);
    Map<String, Object> payload = new LinkedHashMap<>(event.payload());
    payload.put("omen", Stage.pick(random, Lore.OMENS));
    payload.put("certainty", 1 + random.nextInt(99)); // percent, 1 to 99: spirits never swear
    payload.put("lucky_number", 1 + random.nextInt(99));
    return Event.of(SeanceEvents.OMEN_REVEALED, payload);
  }
}
