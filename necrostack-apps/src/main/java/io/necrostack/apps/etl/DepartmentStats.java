package io.necrostack.apps.etl;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Running aggregates of one department: count, salary sum, min and max, age sum. Mergeable,
 * so chunks can be aggregated apart and combined in any order. Not thread-safe.
 */
final class DepartmentStats {
  private long count;
  private double salarySum;
  private double salaryMin = Double.POSITIVE_INFINITY;
  private double salaryMax = Double.NEGATIVE_INFINITY;
  private long ageSum;

  void add(double salary, int age) {
    count++;
    salarySum += salary;
    salaryMin = Math.min(salaryMin, salary);
    salaryMax = Math.max(salaryMax, salary);
    ageSum += age;
  }

  void merge(DepartmentStats other) {
    count += other.count;
    salarySum += other.salarySum;
    salaryMin = Math.min(salaryMin, other.salaryMin);
    salaryMax = Math.max(salaryMax, other.salaryMax);
    ageSum += other.ageSum;
  }

  long count() {
    return count;
  }

  /** The aggregates as they travel in an event payload. */
  Map<String, Object> toPayload() {
    Map<String, Object> map = new LinkedHashMap<>(8);
    map.put("count", count);
    map.put("salary_sum", salarySum);
    map.put("salary_min", salaryMin);
    map.put("salary_max", salaryMax);
    map.put("age_sum", ageSum);
    return map;
  }

  /** Reads aggregates from an event payload. */
  static DepartmentStats fromPayload(Map<?, ?> map) {
    DepartmentStats stats = new DepartmentStats();
    stats.count = ((Number) map.get("count")).longValue();
    stats.salarySum = ((Number) map.get("salary_sum")).doubleValue();
    stats.salaryMin = ((Number) map.get("salary_min")).doubleValue();
    stats.salaryMax = ((Number) map.get("salary_max")).doubleValue();
    stats.ageSum = ((Number) map.get("age_sum")).longValue();
    return stats;
  }

  /** The summary line of this department; only meaningful with a count above zero. */
  DepartmentSummary summary(String department) {
    return new DepartmentSummary(
        department, count, salaryMin, salaryMax, salarySum / count, (double) ageSum / count);
  }
}
