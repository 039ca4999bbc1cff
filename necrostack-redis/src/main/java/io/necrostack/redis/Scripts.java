package io.necrostack.redis;

/**
 * The Lua scripts the backend runs. Each runs atomically on the server, so a check and the
 * writes that depend on it cannot interleave with another client's commands.
 *
 * <p>In a Redis Cluster every key a script touches must hash to one slot: give the stream and
 * the dead-letter stream a common hash tag, such as {@code {orders}:events} and {@code
 * {orders}:events:dlq}.
 */
final class Scripts {
  private Scripts() {}

  /**
   * The read limits of {@link WireFormat}, why an entry breaks them, and how such an entry is
   * dead-lettered without its body ever leaving the server: prepended to the scripts that
   * hand out or dead-letter entries. Lua's {@code unpack} takes at most about 8,000 values,
   * so every call here gets a bounded number.
   */
  private static final String ENTRY_LIMITS =
      """
      local MAX_FIELDS = %d
      local MAX_ENTRY_BYTES = %d
      local MAX_EVENT_BYTES = %d
      local PREFIX_BYTES = %d
      -- Why an entry (its flat list of field names and values) is over the limits, or nil.
      local function entry_problem(f)
        local n = #f / 2
        if n > MAX_FIELDS then
          return 'entry has ' .. n .. ' fields, over the limit of ' .. MAX_FIELDS
        end
        local total = 0
        for j = 1, #f, 2 do
          local v = #f[j + 1]
          total = total + #f[j] + v
          if v > MAX_EVENT_BYTES and f[j] == 'event' then
            return 'event field is ' .. v .. ' bytes, over the limit of ' .. MAX_EVENT_BYTES
          end
        end
        if total > MAX_ENTRY_BYTES then
          return 'entry is ' .. total .. ' bytes, over the limit of ' .. MAX_ENTRY_BYTES
        end
        return nil
      end
      -- Adds a dead letter (a list of field names and values), capped at maxlen if not '0'.
      local function add_dead_letter(dlq, maxlen, d)
        if maxlen ~= '0' then
          redis.call('XADD', dlq, 'MAXLEN', maxlen, '*', unpack(d))
        else
          redis.call('XADD', dlq, '*', unpack(d))
        end
      end
      -- The first max bytes of an entry's fields as a JSON object (cut, so maybe not valid).
      local function json_prefix(f, max)
        local parts = {}
        local used = 2
        for j = 1, #f, 2 do
          local piece = cjson.encode(string.sub(f[j], 1, max)) .. ':'
              .. cjson.encode(string.sub(f[j + 1], 1, max))
          parts[#parts + 1] = piece
          used = used + #piece + 1
          if used >= max then
            break
          end
        end
        return string.sub('{' .. table.concat(parts, ',') .. '}', 1, max)
      end
      -- The dead letter of an entry over the limits: why, its sizes, a prefix of its body.
      local function oversize_letter(id, f, reason, failed_at, count, group, consumer)
        local total = 0
        local event
        for j = 1, #f, 2 do
          total = total + #f[j] + #f[j + 1]
          if f[j] == 'event' and not event then
            event = f[j + 1]
          end
        end
        local d = {'original_id', id,
          'event', event and string.sub(event, 1, PREFIX_BYTES) or '',
          'reason', reason, 'failed_at', failed_at, 'delivery_count', tostring(count),
          'error_class', 'EntryTooLarge', 'stream', KEYS[1], 'group', group,
          'consumer', consumer, 'original_size', tostring(total),
          'original_fields', tostring(#f / 2)}
        if not event then
          d[#d + 1] = 'entry_prefix'
          d[#d + 1] = json_prefix(f, PREFIX_BYTES)
        end
        return d
      end
      """.formatted(WireFormat.MAX_ENTRY_FIELDS, WireFormat.MAX_ENTRY_BYTES,
          WireFormat.MAX_EVENT_BYTES, WireFormat.DEAD_LETTER_PREFIX_BYTES);

  /**
   * Appends events to KEYS[1]. ARGV[1] = approximate MAXLEN (0: none); then, per event, the
   * number of field-value strings followed by those strings. Returns the number of entries
   * added. Shared by enqueue and commit.
   */
  private static final String XADD_LOOP =
      """
      local function add_events(key, maxlen, first)
        local i = first
        local n = #ARGV
        local added = 0
        while i <= n do
          local k = tonumber(ARGV[i])
          -- The fields straight from ARGV: no table built per event.
          if maxlen ~= '0' then
            redis.call('XADD', key, 'MAXLEN', '~', maxlen, '*', unpack(ARGV, i + 1, i + k))
          else
            redis.call('XADD', key, '*', unpack(ARGV, i + 1, i + k))
          end
          added = added + 1
          i = i + k + 1
        end
        return added
      end
      """;

  /** Enqueue, all or nothing: KEYS[1] stream; ARGV[1] maxlen; then the events. */
  static final String ENQUEUE = XADD_LOOP + "return add_events(KEYS[1], ARGV[1], 2)\n";

  /**
   * The fenced commit: KEYS[1] stream; ARGV[1] group, ARGV[2] consumer, ARGV[3] entry id,
   * ARGV[4] maxlen, then the emitted events. Writes the events and acknowledges the entry
   * only if the entry is still pending for this consumer; returns 1 if it committed, 0 if
   * not (nothing written).
   */
  static final String COMMIT =
      XADD_LOOP
          + """
          local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1, ARGV[2])
          if #p == 0 then
            return 0
          end
          add_events(KEYS[1], ARGV[4], 5)
          redis.call('XACK', KEYS[1], ARGV[1], ARGV[3])
          return 1
          """;

  /**
   * Many fenced settles in one run, in order: KEYS[1] stream; ARGV[1] group, ARGV[2]
   * consumer, ARGV[3] maxlen, ARGV[4] and ARGV[5] the lowest and highest entry id; then per
   * entry: its id, its number of emitted events, and those
   * events (an ack is an entry with none). Each entry still pending for this consumer has its
   * events appended and is acknowledged (one XACK for all at the end, in the same atomic
   * run); an entry that is not has nothing written. Returns 1 or 0 per entry.
   */
  static final String SETTLE_MANY =
      """
      local results = {}
      local acks = {}
      local maxlen = ARGV[3]
      local n = #ARGV
      -- One XPENDING over the id range of the batch instead of one per entry.
      local ids = {}
      local entries = 0
      local i = 6
      local lo = ARGV[4]
      local hi = ARGV[5]
      while i <= n do
        entries = entries + 1
        local events = tonumber(ARGV[i + 1])
        i = i + 2
        for e = 1, events do
          i = i + tonumber(ARGV[i]) + 1
        end
      end
      local limit = entries * 2 + 16
      local mine = {}
      local p = redis.call('XPENDING', KEYS[1], ARGV[1], lo, hi, limit, ARGV[2])
      for _, pe in ipairs(p) do
        mine[pe[1]] = true
      end
      local complete = #p < limit
      i = 6
      while i <= n do
        local id = ARGV[i]
        local events = tonumber(ARGV[i + 1])
        i = i + 2
        local owned = mine[id] == true
        if not owned and not complete then
          local one = redis.call('XPENDING', KEYS[1], ARGV[1], id, id, 1, ARGV[2])
          owned = #one > 0
        end
        mine[id] = nil -- an id settled twice in one batch is settled once
        for e = 1, events do
          local k = tonumber(ARGV[i])
          if owned then
            if maxlen ~= '0' then
              redis.call('XADD', KEYS[1], 'MAXLEN', '~', maxlen, '*', unpack(ARGV, i + 1, i + k))
            else
              redis.call('XADD', KEYS[1], '*', unpack(ARGV, i + 1, i + k))
            end
          end
          i = i + k + 1
        end
        if owned then
          acks[#acks + 1] = id
          results[#results + 1] = 1
        else
          results[#results + 1] = 0
        end
      end
      -- In chunks: unpack takes at most about 8,000 values, and a failure here, after the
      -- XADDs above, would leave outputs written for entries still pending.
      for a = 1, #acks, 1000 do
        redis.call('XACK', KEYS[1], ARGV[1], unpack(acks, a, math.min(a + 999, #acks)))
      end
      return results
      """;

  /**
   * Dead-letters one entry: KEYS[1] stream, KEYS[2] dead-letter stream; ARGV[1] group,
   * ARGV[2] consumer, ARGV[3] entry id, ARGV[4] the dead-letter stream's MAXLEN (0: none),
   * then the dead letter's field-value pairs (bounded: an event's fields and a few more). Only
   * if the entry is still pending for this consumer (so two consumers never both dead-letter
   * it): adds the dead letter and acknowledges the entry, returning 1; otherwise returns 0.
   */
  static final String DEAD_LETTER =
      """
      local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1, ARGV[2])
      if #p == 0 then
        return 0
      end
      if ARGV[4] ~= '0' then
        redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[4], '*', unpack(ARGV, 5))
      else
        redis.call('XADD', KEYS[2], '*', unpack(ARGV, 5))
      end
      redis.call('XACK', KEYS[1], ARGV[1], ARGV[3])
      return 1
      """;

  /**
   * Dead-letters an entry over the read limits, building the dead letter on the server so its
   * body never reaches the client: KEYS[1] stream, KEYS[2] dead-letter stream; ARGV[1] group,
   * ARGV[2] consumer, ARGV[3] entry id, ARGV[4] failed_at, ARGV[5] delivery count, ARGV[6]
   * the dead-letter stream's MAXLEN (0: none). Fenced like {@link #DEAD_LETTER}. Returns {1,
   * reason} if dead-lettered, {0, ''} if the entry is not pending for this consumer, {-1, ''}
   * if it was deleted from the stream (then it is acknowledged).
   */
  static final String DEAD_LETTER_OVERSIZE =
      ENTRY_LIMITS
          + """
          local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1, ARGV[2])
          if #p == 0 then
            return {0, ''}
          end
          local r = redis.call('XRANGE', KEYS[1], ARGV[3], ARGV[3])
          if #r == 0 then
            redis.call('XACK', KEYS[1], ARGV[1], ARGV[3])
            return {-1, ''}
          end
          local f = r[1][2]
          local reason = entry_problem(f) or 'entry over the read limits'
          add_dead_letter(KEYS[2], ARGV[6],
              oversize_letter(ARGV[3], f, reason, ARGV[4], ARGV[5], ARGV[1], ARGV[2]))
          redis.call('XACK', KEYS[1], ARGV[1], ARGV[3])
          return {1, reason}
          """;

  /**
   * One claim round: KEYS[1] stream; ARGV[1] group, ARGV[2] consumer, ARGV[3] min idle (ms),
   * ARGV[4] cursor, ARGV[5] count. Returns {next cursor, {{id, {field, value, ...},
   * delivery count}...}, {deleted id...}}.
   *
   * <p>A script rather than Lettuce's xautoclaim because Lettuce 7.7 drops the third reply
   * element of Redis 7 (ids deleted or trimmed while pending), and because the delivery
   * counts (needed for max deliveries) come from XPENDING in the same atomic step. An entry
   * over the read limits comes back as {id, {}, count, reason}, without its fields. One
   * XAUTOCLAIM scans at most ten times its count; entries whose consumers renew their
   * leases are never idle, so the round scans on past them (up to 100 such steps) instead of
   * ending empty while idle entries, a dead consumer's, wait further on.
   */
  static final String CLAIM =
      ENTRY_LIMITS
          + """
      local cursor = ARGV[4]
      local r
      for step = 1, 100 do
        r = redis.call('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[3], cursor,
            'COUNT', ARGV[5])
        cursor = r[1]
        if #r[2] > 0 or (r[3] and #r[3] > 0) or cursor == '0-0' then
          break
        end
      end
      local out = {}
      local deleted = r[3] or {}
      for _, e in ipairs(r[2]) do
        local id = e[1]
        if e[2] then
          local p = redis.call('XPENDING', KEYS[1], ARGV[1], id, id, 1)
          local count = 1
          if #p > 0 then
            count = p[1][4]
          end
          local problem = entry_problem(e[2])
          if problem then
            out[#out + 1] = {id, {}, count, problem}
          else
            out[#out + 1] = {id, e[2], count}
          end
        else
          -- Redis 6.2 returns a deleted entry with a nil body and keeps it pending.
          deleted[#deleted + 1] = id
          redis.call('XACK', KEYS[1], ARGV[1], id)
        end
      end
      return {cursor, out, deleted}
      """;

  /**
   * Re-delivers this consumer's own pending entries from a previous life: KEYS[1] stream;
   * ARGV[1] group, ARGV[2] consumer, ARGV[3] first id (inclusive), ARGV[4] count. Each is
   * re-claimed by this consumer (XCLAIM, idle 0) so its delivery count rises, as a
   * redelivery should. Returns {last id seen or '', {{id, fields, count}...}, {deleted
   * id...}}; an entry over the read limits comes as {id, {}, count, reason}.
   */
  static final String OWN_PENDING =
      ENTRY_LIMITS
          + """
      local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], '+', ARGV[4], ARGV[2])
      local out = {}
      local deleted = {}
      local last = ''
      for _, pe in ipairs(p) do
        local id = pe[1]
        last = id
        local c = redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, id)
        if #c > 0 and c[1] and c[1][2] then
          local problem = entry_problem(c[1][2])
          if problem then
            out[#out + 1] = {id, {}, pe[4] + 1, problem}
          else
            out[#out + 1] = {id, c[1][2], pe[4] + 1}
          end
        else
          deleted[#deleted + 1] = id
          redis.call('XACK', KEYS[1], ARGV[1], id)
        end
      end
      return {last, out, deleted}
      """;

  /**
   * Renews the leases of entries this consumer holds: KEYS[1] stream; ARGV[1] group, ARGV[2]
   * consumer, then the entry ids. Each id still pending for this consumer, and still in the
   * stream, has its idle time reset (XCLAIM to itself, idle 0, JUSTID: the delivery count
   * stays). The ownership check and the claim are one atomic step, so an entry another
   * consumer claimed meanwhile is never taken back. An entry deleted or trimmed from the
   * stream is left alone: XCLAIM would drop it from the pending list, and the commit of its
   * handling would then be refused. Returns {{ids not pending for this consumer}, {ids no
   * longer in the stream}}.
   */
  static final String RENEW =
      """
      local lost = {}
      local gone = {}
      local mine = {}
      for j = 3, #ARGV do
        local id = ARGV[j]
        local p = redis.call('XPENDING', KEYS[1], ARGV[1], id, id, 1, ARGV[2])
        if #p == 0 then
          lost[#lost + 1] = id
        elseif #redis.call('XRANGE', KEYS[1], id, id) == 0 then
          gone[#gone + 1] = id
        else
          mine[#mine + 1] = id
        end
      end
      -- In slices: unpack fails past a few thousand values.
      for k = 1, #mine, 500 do
        local args = {'XCLAIM', KEYS[1], ARGV[1], ARGV[2], '0'}
        for m = k, math.min(k + 499, #mine) do
          args[#args + 1] = mine[m]
        end
        args[#args + 1] = 'JUSTID'
        redis.call(unpack(args))
      end
      return {lost, gone}
      """;

  /**
   * Removes a consumer only if it has nothing pending: KEYS[1] stream; ARGV[1] group, ARGV[2]
   * consumer. Atomic, so no entry can be delivered to it between the check and the removal
   * ({@code XGROUP DELCONSUMER} discards a consumer's pending entries). Returns 1 if removed.
   */
  static final String REMOVE_IDLE_CONSUMER =
      """
      local p = redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2])
      if #p > 0 then
        return 0
      end
      redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
      return 1
      """;

  /**
   * Schedules an entry for redelivery: KEYS[1] stream, KEYS[2] delayed sorted set; ARGV[1]
   * group, ARGV[2] consumer, ARGV[3] entry id, ARGV[4] delay (ms), ARGV[5] the member (JSON
   * {@code {"id": ..., "fields": [...]}}). Fenced like a commit: only if the entry is still
   * pending for this consumer does it add the member, due at server time + delay, and
   * acknowledge the entry; returns 1, else 0.
   */
  static final String DELAY =
      """
      local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1, ARGV[2])
      if #p == 0 then
        return 0
      end
      local t = redis.call('TIME')
      local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
      redis.call('ZADD', KEYS[2], now + tonumber(ARGV[4]), ARGV[5])
      redis.call('XACK', KEYS[1], ARGV[1], ARGV[3])
      return 1
      """;

  /**
   * Moves due delayed entries back into the stream: KEYS[1] stream, KEYS[2] delayed sorted
   * set, KEYS[3] dead-letter stream; ARGV[1] maxlen, ARGV[2] most to move, ARGV[3] the
   * dead-letter stream's MAXLEN (0: none), ARGV[4] failed_at. Each due member becomes a new
   * entry with its fields, and leaves the set, in one atomic run (so two consumers never both
   * move it). A member that is not one this backend writes (too large to decode, not JSON of
   * an id and an even list of strings, or fields over the read limits) is dead-lettered with
   * the reason and a prefix of it instead: anyone can write to the set, and a bad member must
   * neither be dropped unseen nor stop the others. Returns {moved, dead-lettered}.
   */
  static final String MOVE_DUE =
      ENTRY_LIMITS
          + """
          -- A member holds an entry's fields as JSON strings: at most 6 bytes per byte.
          local MAX_MEMBER_BYTES = 6 * MAX_ENTRY_BYTES + 4096
          local t = redis.call('TIME')
          local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
          local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0,
              tonumber(ARGV[2]))
          local moved = 0
          local dead = 0
          for _, m in ipairs(due) do
            local problem
            local d
            if #m > MAX_MEMBER_BYTES then
              problem = 'delayed member is ' .. #m .. ' bytes, over the limit of '
                  .. MAX_MEMBER_BYTES
            else
              local ok
              ok, d = pcall(cjson.decode, m)
              if not ok or type(d) ~= 'table' or type(d.fields) ~= 'table'
                  or #d.fields % 2 ~= 0 then
                problem = 'delayed member is not JSON of an id and an even list of fields'
              else
                for _, v in ipairs(d.fields) do
                  if type(v) ~= 'string' then
                    problem = 'delayed member has a field that is not a string'
                    break
                  end
                end
                problem = problem or entry_problem(d.fields)
              end
            end
            if problem then
              local id = ''
              if type(d) == 'table' and type(d.id) == 'string' then
                id = string.sub(d.id, 1, 64)
              end
              add_dead_letter(KEYS[3], ARGV[3], {'original_id', id, 'event', '',
                  'reason', problem, 'failed_at', ARGV[4], 'error_class', 'BadDelayedMember',
                  'stream', KEYS[1], 'delayed_key', KEYS[2], 'original_size', tostring(#m),
                  'entry_prefix', string.sub(m, 1, PREFIX_BYTES)})
              dead = dead + 1
            else
              if ARGV[1] ~= '0' then
                redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', unpack(d.fields))
              else
                redis.call('XADD', KEYS[1], '*', unpack(d.fields))
              end
              moved = moved + 1
            end
            redis.call('ZREM', KEYS[2], m)
          end
          return {moved, dead}
          """;
}
