package io.necrostack.apps.seance;

import io.necrostack.core.Emission;
import io.necrostack.core.Event;
import io.necrostack.core.Organ;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/** Performs the ritual: a spirit appears, with a manifestation and a mood. */
final class Summoner implements Organ {
  private static final long SALT = 1;

  @Override
  public Map<String, Class<?>> payloadTypes() {
    return SeancePayloads.of(SeanceEvents.SUMMON_RITUAL, SeanceEvents.SPIRIT_APPEARED);
  }

  @Override
  public Set<String> listensTo() {
    return Set.of(SeanceEvents.SUMMON_RITUAL);
  }

  @Override
  public Set<String> emits() {
    return Set.of(SeanceEvents.SPIRIT_APPEARED);
  }

  @Override
  public String name() {
    return "Summoner";
  }

  @Override
  public Emission handle(Event event) {
    Random random = Stage.random(event, SALT);
    Object asked = event.payload().get("spirit");
    // Draw the spirit even when one is named, so the later draws do not depend on the name.
    String drawn = Stage.pick(random, Lore.SPIRITS);
    String spirit = asked == null ? drawn : asked.toString();
    String ritual = Stage.text(event, "ritual");
    Lore.Mood mood = Stage.pick(random, Lore.MOODS);
    Map<String, Object> payload = new LinkedHashMap<>(event.payload());
    payload.put("spirit", spirit);
    payload.put("opening", Lore.opening(ritual));
    payload.put("manifestation", Stage.pick(random, Lore.MANIFESTATIONS));
    payload.put("mood", mood.name());
    payload.put("voice", mood.voice());
    return Event.of(SeanceEvents.SPIRIT_APPEARED, payload);
  }
}
