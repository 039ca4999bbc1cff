package io.necrostack.core;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Checks organs at registration; each problem names the organ and what is wrong. */
final class OrganValidation {
  private OrganValidation() {}

  static void check(List<Organ> organs, List<String> problems) {
    Map<String, Integer> seen = new HashMap<>();
    for (int i = 0; i < organs.size(); i++) {
      Organ organ = organs.get(i);
      String where = "organ #" + (i + 1);
      if (organ == null) {
        problems.add(where + " is null");
        continue;
      }
      String name = organ.name();
      if (name == null || name.isBlank()) {
        problems.add(where + " (" + organ.getClass().getName() + ") has a blank name");
      } else {
        where = "organ '" + name + "'";
        Integer first = seen.putIfAbsent(name, i + 1);
        if (first != null) {
          problems.add(
              "duplicate organ name '" + name + "' (organs #" + first + " and #" + (i + 1)
                  + "); give each organ its own name, e.g. Organ.builder(name)");
        }
      }
      Set<String> listens = organ.listensTo();
      if (listens == null || listens.isEmpty()) {
        problems.add(where + " listens to nothing; listensTo() must name at least one type");
      } else {
        checkTypes(where, "listensTo", listens, problems);
      }
      Set<String> emits = organ.emits();
      if (emits == null) {
        problems.add(where + ": emits() returned null; return an empty set when undeclared");
      } else {
        checkTypes(where, "emits", emits, problems);
      }
    }
  }

  private static void checkTypes(
      String where, String what, Set<String> types, List<String> problems) {
    for (String type : types) {
      if (type == null || type.isBlank()) {
        problems.add(where + " has a " + (type == null ? "null" : "blank") + " event type in "
            + what);
      } else if (!type.equals(type.strip())) {
        problems.add(where + " has event type '" + type + "' in " + what
            + " with surrounding whitespace; event types are stored trimmed");
      }
    }
  }
}
