package io.necrostack.apps.etl;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVParser;
import org.apache.commons.csv.CSVRecord;

/**
 * An open CSV input read chunk by chunk: only the current chunk is in memory.
 *
 * <p>The first record is the header; it must name the columns {@link #COLUMNS} (in any order,
 * any case, other columns ignored). Rows are numbered from 1 after the header, blank lines
 * not counted; each also carries the line it starts on. A blank line is skipped and counted.
 * A row whose field count differs from the header's, or which holds bytes that are not UTF-8,
 * is rejected with its number. Text that is not CSV (an unclosed quote, text after a closing
 * quote) stops the read with an {@link EtlInputException} naming the row and line. Not
 * thread-safe.
 */
final class CsvSource implements AutoCloseable {
  /** The name of the built-in sample. */
  static final String SAMPLE_NAME = "built-in sample (employees.csv)";

  /** The columns every input must have. */
  static final List<String> COLUMNS = List.of("name", "age", "salary", "department");

  private static final String SAMPLE_RESOURCE = "employees.csv";

  // RFC 4180 quoting; blank lines are kept as records so they are counted, not dropped.
  private static final CSVFormat FORMAT =
      CSVFormat.RFC4180.builder().setIgnoreEmptyLines(false).get();

  private final CSVParser parser;
  private final Iterator<CSVRecord> records;
  private final int width;
  private final int[] index = new int[COLUMNS.size()];
  private long lastRow; // the number of the last row read; 0 = only the header
  private long nextLine; // the line the next record starts on
  private boolean exhausted;

  private CsvSource(Reader reader, String name) throws EtlInputException {
    try {
      this.parser = CSVParser.builder().setReader(reader).setFormat(FORMAT).get();
    } catch (IOException | UncheckedIOException e) {
      try {
        reader.close();
      } catch (IOException closing) {
        e.addSuppressed(closing);
      }
      throw new EtlInputException("cannot read " + name + ": " + e.getMessage(), e);
    }
    this.records = parser.iterator();
    try {
      if (!records.hasNext()) {
        throw new EtlInputException("no header row: " + name + " is empty");
      }
      CSVRecord header = records.next();
      this.width = header.size();
      readHeader(header, name);
      this.nextLine = parser.getCurrentLineNumber() + 1;
    } catch (UncheckedIOException | IllegalStateException e) {
      closeQuietly();
      throw new EtlInputException(
          "unreadable header row (line 1) of " + name + ": " + cause(e), e);
    } catch (EtlInputException e) {
      closeQuietly();
      throw e;
    }
  }

  /**
   * Opens a CSV file in UTF-8.
   *
   * @throws EtlInputException if the file is missing or unreadable, or its header is not
   *     usable
   */
  static CsvSource open(Path file) throws EtlInputException {
    if (Files.isDirectory(file)) {
      throw new EtlInputException("input is a directory, not a CSV file: " + file);
    }
    InputStream in;
    try {
      in = Files.newInputStream(file);
    } catch (NoSuchFileException e) {
      throw new EtlInputException("input file not found: " + file, e);
    } catch (AccessDeniedException e) {
      throw new EtlInputException("input file is not readable (permission denied): " + file, e);
    } catch (IOException e) {
      throw new EtlInputException("cannot open input file " + file + ": " + e.getMessage(), e);
    }
    return new CsvSource(utf8(in), file.toString());
  }

  /** Opens the built-in employees sample. */
  static CsvSource openSample() throws EtlInputException {
    InputStream in = CsvSource.class.getResourceAsStream(SAMPLE_RESOURCE);
    if (in == null) {
      throw new EtlInputException("the built-in sample is missing from this build");
    }
    return new CsvSource(utf8(in), SAMPLE_NAME);
  }

  /**
   * Reads up to {@code maxRows} rows (blank lines are not counted).
   *
   * @throws EtlInputException if the text is not CSV or not UTF-8, naming the row and line
   */
  Chunk next(int maxRows) throws EtlInputException {
    List<Map<String, Object>> rows = new ArrayList<>(Math.min(maxRows, 1024));
    List<Map<String, Object>> rejected = new ArrayList<>();
    int read = 0;
    int blank = 0;
    while (read < maxRows && !exhausted) {
      CSVRecord record = nextRecord();
      if (record == null) {
        break;
      }
      long line = nextLine;
      nextLine = parser.getCurrentLineNumber() + 1;
      if (record.size() == 1 && record.get(0).isEmpty()) {
        blank++;
        continue;
      }
      long row = ++lastRow;
      read++;
      if (record.size() != width) {
        rejected.add(Rejection.of(row, line,
            "expected " + width + " fields as in the header, found " + record.size()));
        continue;
      }
      if (hasReplacement(record)) {
        rejected.add(Rejection.of(row, line, "contains bytes that are not valid UTF-8"));
        continue;
      }
      Map<String, Object> fields = new LinkedHashMap<>(8);
      fields.put("row", row);
      fields.put("line", line);
      for (int c = 0; c < COLUMNS.size(); c++) {
        fields.put(COLUMNS.get(c), record.get(index[c]));
      }
      rows.add(fields);
    }
    if (!exhausted && peekEnd()) {
      exhausted = true;
    }
    return new Chunk(rows, rejected, read, blank, exhausted);
  }

  /** Whether every record has been read. */
  boolean exhausted() {
    return exhausted;
  }

  @Override
  public void close() {
    closeQuietly();
  }

  /** The next record, or null (and exhausted) at the end. */
  private CSVRecord nextRecord() throws EtlInputException {
    try {
      if (!records.hasNext()) {
        exhausted = true;
        return null;
      }
      return records.next();
    } catch (UncheckedIOException | IllegalStateException e) {
      throw malformed(e);
    }
  }

  /** Whether the input has ended; the iterator reads the next record ahead to know. */
  private boolean peekEnd() throws EtlInputException {
    try {
      return !records.hasNext();
    } catch (UncheckedIOException | IllegalStateException e) {
      throw malformed(e);
    }
  }

  /** Whether the decoder replaced invalid bytes in a field (with U+FFFD). */
  private static boolean hasReplacement(CSVRecord record) {
    for (String value : record) {
      if (value.indexOf('\uFFFD') >= 0) {
        return true;
      }
    }
    return false;
  }

  private EtlInputException malformed(RuntimeException e) {
    return new EtlInputException(
        "malformed CSV at row " + (lastRow + 1) + " (line " + nextLine + "): " + cause(e), e);
  }

  private void readHeader(CSVRecord header, String name) throws EtlInputException {
    Map<String, Integer> positions = new HashMap<>();
    List<String> found = new ArrayList<>();
    for (int i = 0; i < header.size(); i++) {
      String column = header.get(i);
      if (i == 0 && column.startsWith("\uFEFF")) {
        column = column.substring(1); // a byte-order mark, as spreadsheet programs write
      }
      column = column.strip();
      found.add(column);
      Integer before = positions.put(column.toLowerCase(Locale.ROOT), i);
      if (before != null && COLUMNS.contains(column.toLowerCase(Locale.ROOT))) {
        throw new EtlInputException(
            "unreadable header row (line 1) of " + name + ": column '" + column
                + "' appears twice");
      }
    }
    List<String> missing = new ArrayList<>();
    for (int c = 0; c < COLUMNS.size(); c++) {
      Integer at = positions.get(COLUMNS.get(c));
      if (at == null) {
        missing.add(COLUMNS.get(c));
      } else {
        index[c] = at;
      }
    }
    if (!missing.isEmpty()) {
      throw new EtlInputException(
          "unreadable header row (line 1) of " + name + ": missing column(s) "
              + String.join(", ", missing) + "; expected " + String.join(", ", COLUMNS)
              + ", found " + String.join(", ", found));
    }
  }

  private static String cause(RuntimeException e) {
    Throwable t = e;
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    return t.getMessage() == null ? t.toString() : t.getMessage();
  }

  /**
   * A UTF-8 reader that replaces invalid bytes with U+FFFD. Replacing, not failing: the
   * decoder reads ahead by thousands of bytes, so a decoding error could not name its row;
   * the replacement character does, and {@link #next} rejects that row.
   */
  private static Reader utf8(InputStream in) {
    return new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8), 64 * 1024);
  }

  private void closeQuietly() {
    try {
      parser.close();
    } catch (IOException | RuntimeException e) {
      // Closing a reader we only read from: nothing was written, nothing can be lost.
    }
  }

  /**
   * One chunk of rows.
   *
   * @param rows the well-formed rows: row, line and the four columns as read
   * @param rejected the malformed rows: row, line, reason
   * @param read rows read, well-formed or not (blank lines excluded)
   * @param blankLines blank lines skipped
   * @param last whether the input ended with this chunk
   */
  record Chunk(
      List<Map<String, Object>> rows,
      List<Map<String, Object>> rejected,
      int read,
      int blankLines,
      boolean last) {}
}
