package io.necrostack.redis;

import io.lettuce.core.RedisFuture;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.output.CommandOutput;
import io.lettuce.core.protocol.CommandArgs;
import io.lettuce.core.protocol.CommandType;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Decodes the reply of an {@code XREADGROUP} or an {@code XRANGE} into stream entries without
 * ever decoding more than the entry limits and the read's byte budget allow.
 *
 * <p>Why not Lettuce's own output: it decodes every value into a String before anyone can
 * look at its size, so five entries of 40 MB in one reply take 400 MB of heap. Here each value
 * is measured first (Lettuce hands over a view of its network buffer) and decoded only while
 * its entry is within {@link WireFormat#MAX_ENTRY_FIELDS}, {@link WireFormat#MAX_ENTRY_BYTES}
 * and {@link WireFormat#MAX_EVENT_BYTES}, and while the entries kept so far are within the
 * budget. An entry over a limit comes back {@link Kind#OVERSIZE} with its id and sizes only;
 * one past the budget comes back {@link Kind#HELD} (id and size) to be read again later. What
 * is not kept costs no heap; the network buffer holds one value at a time.
 *
 * <p>Follows the reply's structure by counting elements, so RESP2 and RESP3 alike: an {@code
 * XREADGROUP} reply is an array (RESP2) or a map (RESP3) of streams, each with its entries; an
 * {@code XRANGE} reply is the entries. Used on Lettuce's I/O thread only.
 */
final class BoundedEntryOutput
    extends CommandOutput<String, String, List<BoundedEntryOutput.Entry>> {
  /** What became of an entry. */
  enum Kind {
    /** Within every limit: its fields are kept. */
    KEPT,
    /** Over an entry limit: only its id and sizes. */
    OVERSIZE,
    /** Within the limits but past the read's budget: only its id and size, to read again. */
    HELD
  }

  /**
   * One entry of the reply.
   *
   * @param fields the fields in order when {@link Kind#KEPT}, else null
   * @param bytes the length of all its field names and values, in bytes
   * @param fieldCount its number of fields
   */
  record Entry(String id, Kind kind, Map<String, String> fields, long bytes, int fieldCount) {}

  private static final byte[] EVENT_NAME =
      WireFormat.EVENT.getBytes(StandardCharsets.US_ASCII);

  private final boolean streamsReply;
  private final long budget;
  private final boolean keepFirst;
  private final List<Entry> entries = new ArrayList<>();
  private long kept;
  /** Elements still to come in each open aggregate, outermost first. */
  private int[] remaining = new int[8];
  private int depth;
  private int idDepth;

  // The entry being read.
  private String id;
  private Kind kind;
  private LinkedHashMap<String, String> fields;
  private String name;
  private boolean eventField;
  private long bytes;
  private int values;

  /**
   * @param streamsReply true for an {@code XREADGROUP} reply (streams, then entries), false for
   *     an {@code XRANGE} reply (entries)
   * @param budget most bytes of entries to keep in all
   * @param keepFirst keep the first entry within the limits even if it alone exceeds the budget
   *     (so a read always makes progress); false for a read-ahead, which may keep none
   */
  BoundedEntryOutput(boolean streamsReply, long budget, boolean keepFirst) {
    super(StringCodec.UTF8, List.of());
    this.streamsReply = streamsReply;
    this.budget = budget;
    this.keepFirst = keepFirst;
  }

  /**
   * Sends {@code XRANGE key start end COUNT count} on the connection, its reply bounded to the
   * entry limits and {@code budget} bytes (the first entry within the limits always kept).
   */
  static RedisFuture<List<Entry>> range(StatefulRedisConnection<String, String> connection,
      String key, String start, String end, int count, long budget) {
    CommandArgs<String, String> args = new CommandArgs<>(StringCodec.UTF8)
        .addKey(key).add(start).add(end).add("COUNT").add(count);
    return connection.async().dispatch(CommandType.XRANGE,
        new BoundedEntryOutput(false, budget, true), args);
  }

  @Override
  public void multi(int count) {
    if (depth == 0) {
      output = entries;
      idDepth = streamsReply ? 4 : 2; // [[stream, [[id, fields]...]]...] or [[id, fields]...]
    }
    open(count);
  }

  @Override
  public void multiMap(int count) {
    if (depth == 0 && streamsReply) {
      // RESP3: the streams come as a map, {stream: [[id, fields]...]}, one level flatter.
      output = entries;
      idDepth = 3;
      open(count * 2);
      return;
    }
    super.multiMap(count);
  }

  private void open(int count) {
    if (count <= 0) { // empty or null: an element complete at once
      elementDone();
      return;
    }
    if (depth == remaining.length) {
      remaining = Arrays.copyOf(remaining, depth * 2);
    }
    remaining[depth++] = count;
    if (depth == idDepth) {
      id = null;
      kind = Kind.KEPT;
      fields = new LinkedHashMap<>();
      name = null;
      bytes = 0;
      values = 0;
    }
  }

  @Override
  public void set(ByteBuffer value) {
    if (depth == idDepth) {
      if (value != null) {
        id = StringCodec.ASCII.decodeKey(value);
      }
    } else if (depth == idDepth + 1 && idDepth > 0) {
      field(value);
    }
    elementDone();
  }

  private void field(ByteBuffer value) {
    int length = value == null ? 0 : value.remaining();
    bytes += length;
    boolean isName = values++ % 2 == 0;
    if (isName) {
      eventField = isEventName(value, length);
    }
    if (kind != Kind.OVERSIZE
        && (values > 2 * WireFormat.MAX_ENTRY_FIELDS || bytes > WireFormat.MAX_ENTRY_BYTES
            || (!isName && eventField && length > WireFormat.MAX_EVENT_BYTES))) {
      kind = Kind.OVERSIZE;
      fields = null;
    }
    if (kind == Kind.KEPT && kept + bytes > budget && (!keepFirst || !entries.isEmpty())) {
      kind = Kind.HELD; // what it decoded so far is dropped: at most one entry over the budget
      fields = null;
    }
    if (kind != Kind.KEPT) {
      return;
    }
    String text = value == null ? null : codec.decodeValue(value);
    if (isName) {
      name = text;
    } else {
      fields.put(name, text);
      name = null;
    }
  }

  private static boolean isEventName(ByteBuffer value, int length) {
    if (length != EVENT_NAME.length) {
      return false;
    }
    for (int i = 0; i < length; i++) {
      if (value.get(value.position() + i) != EVENT_NAME[i]) {
        return false;
      }
    }
    return true;
  }

  @Override
  public void set(long integer) {
    elementDone();
  }

  @Override
  public void set(double number) {
    elementDone();
  }

  @Override
  public void set(boolean value) {
    elementDone();
  }

  @Override
  public void setSingle(ByteBuffer bytes) {
    elementDone();
  }

  @Override
  public void setBigNumber(ByteBuffer bytes) {
    elementDone();
  }

  /** One element of the innermost open aggregate is complete; closes those it completes. */
  private void elementDone() {
    while (depth > 0) {
      if (--remaining[depth - 1] > 0) {
        return;
      }
      if (depth-- == idDepth) {
        entryDone();
      }
    }
  }

  private void entryDone() {
    if (id == null) {
      return;
    }
    if (kind == Kind.KEPT) {
      kept += bytes;
    }
    entries.add(new Entry(id, kind, fields, bytes, values / 2));
    fields = null;
  }
}
