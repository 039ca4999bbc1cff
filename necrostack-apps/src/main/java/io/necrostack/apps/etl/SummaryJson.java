package io.necrostack.apps.etl;

import java.io.IOException;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import tools.jackson.databind.SerializationFeature;
import tools.jackson.databind.json.JsonMapper;

/** Writes an {@link EtlSummary} as JSON, with snake_case fields and money to the cent. */
public final class SummaryJson {
  private static final JsonMapper MAPPER =
      JsonMapper.builder().enable(SerializationFeature.INDENT_OUTPUT).build();

  private SummaryJson() {}

  /** The summary as a JSON document, ending with a newline. */
  public static String toJson(EtlSummary s) {
    Map<String, Object> root = new LinkedHashMap<>();
    root.put("source", s.source());
    root.put("chunks", s.chunks());
    root.put("rows_read", s.rowsRead());
    root.put("rows_loaded", s.rowsLoaded());
    root.put("rows_rejected", s.rowsRejected());
    root.put("blank_lines", s.blankLines());
    List<Map<String, Object>> departments = new ArrayList<>();
    for (DepartmentSummary d : s.departments()) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("department", d.department());
      m.put("count", d.count());
      m.put("min_salary", round(d.minSalary(), 2));
      m.put("max_salary", round(d.maxSalary(), 2));
      m.put("mean_salary", round(d.meanSalary(), 2));
      m.put("mean_age", round(d.meanAge(), 2));
      departments.add(m);
    }
    root.put("departments", departments);
    List<Map<String, Object>> rejected = new ArrayList<>();
    for (Rejection r : s.rejections()) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("row", r.row());
      m.put("line", r.line());
      m.put("reason", r.reason());
      rejected.add(m);
    }
    root.put("rejected_rows", rejected);
    root.put("rejected_rows_truncated", s.rowsRejected() > rejected.size());
    return MAPPER.writeValueAsString(root) + "\n";
  }

  /**
   * Writes the summary to a file in UTF-8, replacing it.
   *
   * @throws IOException if the file cannot be written
   */
  public static void write(EtlSummary summary, Path file) throws IOException {
    Files.writeString(file, toJson(summary), StandardCharsets.UTF_8);
  }

  private static BigDecimal round(double value, int places) {
    return BigDecimal.valueOf(value).setScale(places, RoundingMode.HALF_UP);
  }
}
