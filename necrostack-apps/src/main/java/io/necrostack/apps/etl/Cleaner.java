package io.necrostack.apps.etl;

import io.necrostack.core.Emission;
import io.necrostack.core.Event;
import io.necrostack.core.Organ;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Cleans one chunk: trims every field and types age and salary; rejects, with the row number
 * and the reason, rows whose age or salary is missing, not a number or out of range.
 *
 * <p>Rules: age is a whole number from 0 to {@value #MAX_AGE}; salary is a decimal number,
 * zero or more (no currency signs or thousands separators); a blank department becomes
 * {@value #NO_DEPARTMENT}. Stateless.
 */
final class Cleaner implements Organ {
  static final int MAX_AGE = 150;
  static final String NO_DEPARTMENT = "(none)";

  @Override
  public Set<String> listensTo() {
    return Set.of(EtlEvents.RAW_DATA_LOADED);
  }

  @Override
  public Set<String> emits() {
    return Set.of(EtlEvents.DATA_CLEANED);
  }

  @Override
  public String name() {
    return "Cleaner";
  }

  @Override
  public Emission handle(Event event) {
    List<?> raw = (List<?>) event.payload().get("rows");
    List<Object> rejected = new ArrayList<>((List<?>) event.payload().get("rejected"));
    List<Map<String, Object>> clean = new ArrayList<>(raw.size());
    for (Object item : raw) {
      Map<?, ?> row = (Map<?, ?>) item;
      long number = ((Number) row.get("row")).longValue();
      long line = ((Number) row.get("line")).longValue();
      String age = text(row, "age");
      String salary = text(row, "salary");
      String problem = ageProblem(age);
      if (problem == null) {
        problem = salaryProblem(salary);
      }
      if (problem != null) {
        rejected.add(Rejection.of(number, line, problem));
        continue;
      }
      String department = text(row, "department");
      Map<String, Object> typed = new LinkedHashMap<>(8);
      typed.put("row", number);
      typed.put("name", text(row, "name"));
      typed.put("age", Integer.parseInt(age));
      typed.put("salary", new BigDecimal(salary).doubleValue());
      typed.put("department", department.isEmpty() ? NO_DEPARTMENT : department);
      clean.add(typed);
    }
    // Malformed rows (found by the extractor) and unusable ones (found here), in row order.
    rejected.sort(Comparator.comparingLong(r -> ((Number) ((Map<?, ?>) r).get("row")).longValue()));
    Map<String, Object> payload = new LinkedHashMap<>(event.payload());
    payload.put("rows", clean);
    payload.put("rejected", rejected);
    return Event.of(EtlEvents.DATA_CLEANED, payload);
  }

  private static String text(Map<?, ?> row, String column) {
    Object value = row.get(column);
    return value == null ? "" : value.toString().strip();
  }

  /** Why the age is unusable, or null when it is fine. */
  static String ageProblem(String age) {
    if (age.isEmpty()) {
      return "age is missing";
    }
    int value;
    try {
      value = Integer.parseInt(age);
    } catch (NumberFormatException e) {
      return "age '" + age + "' is not a whole number";
    }
    if (value < 0 || value > MAX_AGE) {
      return "age " + value + " is out of range (0 to " + MAX_AGE + ")";
    }
    return null;
  }

  /** Why the salary is unusable, or null when it is fine. */
  static String salaryProblem(String salary) {
    if (salary.isEmpty()) {
      return "salary is missing";
    }
    BigDecimal value;
    try {
      value = new BigDecimal(salary);
    } catch (NumberFormatException e) {
      return "salary '" + salary + "' is not a number";
    }
    if (value.signum() < 0) {
      return "salary " + salary + " is negative";
    }
    if (Double.isInfinite(value.doubleValue())) {
      return "salary " + salary + " is too large";
    }
    return null;
  }
}
