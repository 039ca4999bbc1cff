package io.necrostack.apps.etl;

import io.necrostack.core.Emission;
import io.necrostack.core.Event;
import io.necrostack.core.EventValidationException;
import io.necrostack.core.Organ;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Extracts the input chunk by chunk.
 *
 * <p>On {@code ETL_START} it opens the input and emits the first chunk; while rows remain, each
 * chunk is followed by an {@code ETL_NEXT_CHUNK} that brings it back for the next one. Only
 * about one chunk per stage is ever queued, however large the file: the queue, not the file,
 * sets the memory used. An input that cannot be read emits {@code ETL_FAILED} with the
 * reason, row and line.
 *
 * <p>Holds the open input between events, so one extraction at a time per instance: a run
 * uses its own organs.
 */
final class CsvExtractor implements Organ {
  private static final Logger log = LoggerFactory.getLogger(CsvExtractor.class);

  private final EtlProgress progress;
  private CsvSource source;
  private int chunkSize;
  private int chunk;
  private long rowsRead;

  /** @param progress told the total rows read after each chunk */
  CsvExtractor(EtlProgress progress) {
    this.progress = Objects.requireNonNull(progress, "progress == null");
  }

  @Override
  public Set<String> listensTo() {
    return Set.of(EtlEvents.ETL_START, EtlEvents.ETL_NEXT_CHUNK);
  }

  @Override
  public Set<String> emits() {
    return Set.of(EtlEvents.RAW_DATA_LOADED, EtlEvents.ETL_NEXT_CHUNK, EtlEvents.ETL_FAILED);
  }

  @Override
  public String name() {
    return "CsvExtractor";
  }

  @Override
  public Emission handle(Event event) {
    try {
      if (event.eventType().equals(EtlEvents.ETL_START)) {
        start(event);
      } else if (source == null) {
        throw new IllegalStateException("ETL_NEXT_CHUNK without an extraction in progress");
      }
      return nextChunk();
    } catch (EtlInputException e) {
      closeSource();
      log.atDebug().addKeyValue("reason", e.getMessage()).log("input cannot be read");
      return Event.of(EtlEvents.ETL_FAILED, Map.of("reason", e.getMessage()));
    }
  }

  @Override
  public void onStop() {
    closeSource();
  }

  private void start(Event event) throws EtlInputException {
    closeSource(); // a new start replaces an unfinished extraction
    Object input = event.payload().get("input");
    Object size = event.payload().get("chunk_size");
    chunkSize = size instanceof Number n ? n.intValue() : EtlRequest.DEFAULT_CHUNK_SIZE;
    chunk = 0;
    rowsRead = 0;
    source = input == null ? CsvSource.openSample() : CsvSource.open(Path.of(input.toString()));
  }

  private Emission nextChunk() throws EtlInputException {
    CsvSource.Chunk next = source.next(chunkSize);
    chunk++;
    rowsRead += next.read();
    Map<String, Object> payload = new LinkedHashMap<>();
    payload.put("chunk", chunk);
    payload.put("last", next.last());
    payload.put("rows_read", next.read());
    payload.put("blank_lines", next.blankLines());
    payload.put("rows", next.rows());
    payload.put("rejected", next.rejected());
    Event loaded;
    try {
      loaded = Event.of(EtlEvents.RAW_DATA_LOADED, payload);
    } catch (EventValidationException e) {
      throw new EtlInputException(
          "chunk " + chunk + " is too large for one event (" + e.getMessage()
              + "): use a smaller chunk size", e);
    }
    progress.rowsRead(rowsRead, next.last());
    if (log.isDebugEnabled()) {
      log.atDebug()
          .addKeyValue("chunk", chunk)
          .addKeyValue("rows", next.read())
          .addKeyValue("malformed", next.rejected().size())
          .addKeyValue("rows_read_total", rowsRead)
          .addKeyValue("last", next.last())
          .log("chunk extracted");
    }
    if (next.last()) {
      closeSource();
      return loaded;
    }
    return Emission.of(loaded, Event.of(EtlEvents.ETL_NEXT_CHUNK, Map.of("chunk", chunk + 1)));
  }

  private void closeSource() {
    if (source != null) {
      source.close();
      source = null;
    }
  }
}
