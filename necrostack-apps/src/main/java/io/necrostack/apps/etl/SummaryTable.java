package io.necrostack.apps.etl;

import java.util.List;
import java.util.Locale;

/** Renders an {@link EtlSummary} as the table the {@code etl} command prints. */
final class SummaryTable {
  /** Rejections printed in the table; the JSON summary lists more. */
  static final int PRINTED_REJECTIONS = 20;

  private static final String[] HEADINGS = {
    "department", "employees", "min salary", "max salary", "mean salary", "mean age"
  };

  private SummaryTable() {}

  /** The table; every line ends with a newline. */
  static String render(EtlSummary s) {
    StringBuilder sb = new StringBuilder();
    sb.append('\n');
    sb.append("ETL summary: ").append(s.source()).append('\n');
    sb.append(String.format(Locale.ROOT,
        "  %,d rows read: %,d loaded, %,d rejected (%,d chunk%s%s)%n",
        s.rowsRead(), s.rowsLoaded(), s.rowsRejected(), s.chunks(), s.chunks() == 1 ? "" : "s",
        s.blankLines() == 0 ? "" : String.format(Locale.ROOT, ", %,d blank line%s skipped",
            s.blankLines(), s.blankLines() == 1 ? "" : "s")));
    sb.append('\n');
    List<DepartmentSummary> departments = s.departments();
    if (departments.isEmpty()) {
      sb.append("  No rows were loaded.\n");
    } else {
      int nameWidth = HEADINGS[0].length();
      for (DepartmentSummary d : departments) {
        nameWidth = Math.max(nameWidth, d.department().codePointCount(0, d.department().length()));
      }
      String[] cells = new String[HEADINGS.length];
      System.arraycopy(HEADINGS, 0, cells, 0, cells.length);
      int[] widths = {nameWidth, 9, 12, 12, 12, 8};
      row(sb, widths, cells);
      String[] rules = new String[widths.length];
      for (int i = 0; i < widths.length; i++) {
        rules[i] = "-".repeat(widths[i]);
      }
      row(sb, widths, rules);
      for (DepartmentSummary d : departments) {
        row(sb, widths, new String[] {
          d.department(),
          String.format(Locale.ROOT, "%,d", d.count()),
          money(d.minSalary()),
          money(d.maxSalary()),
          money(d.meanSalary()),
          String.format(Locale.ROOT, "%.1f", d.meanAge())
        });
      }
    }
    if (s.rowsRejected() > 0) {
      sb.append('\n');
      sb.append(String.format(Locale.ROOT, "  Rejected rows (%,d):%n", s.rowsRejected()));
      List<Rejection> listed = s.rejections();
      int shown = Math.min(PRINTED_REJECTIONS, listed.size());
      for (int i = 0; i < shown; i++) {
        sb.append("    ").append(listed.get(i)).append('\n');
      }
      if (s.rowsRejected() > shown) {
        sb.append(String.format(Locale.ROOT,
            "    ... and %,d more (the JSON summary, --output, lists the first %d)%n",
            s.rowsRejected() - shown, EtlSummary.MAX_LISTED_REJECTIONS));
      }
    }
    return sb.toString();
  }

  private static String money(double amount) {
    return String.format(Locale.ROOT, "%,.2f", amount);
  }

  /** One row: the first column left-aligned, the numbers right-aligned. */
  private static void row(StringBuilder sb, int[] widths, String[] cells) {
    sb.append("  ");
    for (int i = 0; i < cells.length; i++) {
      String cell = cells[i];
      int pad = Math.max(0, widths[i] - cell.codePointCount(0, cell.length()));
      if (i == 0) {
        sb.append(cell).append(" ".repeat(pad));
      } else {
        sb.append("  ").append(" ".repeat(pad)).append(cell);
      }
    }
    sb.append('\n');
  }
}
