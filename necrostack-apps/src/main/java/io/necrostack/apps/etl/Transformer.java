package io.necrostack.apps.etl;

import io.necrostack.core.Emission;
import io.necrostack.core.Event;
import io.necrostack.core.Organ;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Aggregates one cleaned chunk per department (count, salary sum, min, max, age sum).
 *
 * <p>Stateless: each chunk's aggregates travel on, and the reporter merges them. Merging is
 * order-independent, so chunks may arrive in any order and on any consumer.
 */
final class Transformer implements Organ {

  @Override
  public Set<String> listensTo() {
    return Set.of(EtlEvents.DATA_CLEANED);
  }

  @Override
  public Set<String> emits() {
    return Set.of(EtlEvents.DATA_TRANSFORMED);
  }

  @Override
  public String name() {
    return "Transformer";
  }

  @Override
  public Emission handle(Event event) {
    List<?> rows = (List<?>) event.payload().get("rows");
    Map<String, DepartmentStats> byDepartment = new TreeMap<>();
    for (Object item : rows) {
      Map<?, ?> row = (Map<?, ?>) item;
      byDepartment
          .computeIfAbsent(row.get("department").toString(), d -> new DepartmentStats())
          .add(((Number) row.get("salary")).doubleValue(), ((Number) row.get("age")).intValue());
    }
    Map<String, Object> departments = new LinkedHashMap<>();
    byDepartment.forEach((name, stats) -> departments.put(name, stats.toPayload()));
    Map<String, Object> payload = new LinkedHashMap<>(event.payload());
    payload.remove("rows"); // the rows end here: only the aggregates travel on
    payload.put("rows_loaded", rows.size());
    payload.put("departments", departments);
    return Event.of(EtlEvents.DATA_TRANSFORMED, payload);
  }
}
