package io.necrostack.apps.etl;

/**
 * The aggregates of one department over the whole input.
 *
 * @param department the department's name, trimmed
 * @param count the employees loaded
 * @param minSalary the lowest salary
 * @param maxSalary the highest salary
 * @param meanSalary the mean salary
 * @param meanAge the mean age, in years
 */
public record DepartmentSummary(
    String department,
    long count,
    double minSalary,
    double maxSalary,
    double meanSalary,
    double meanAge) {}
