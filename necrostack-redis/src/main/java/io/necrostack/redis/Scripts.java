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
      if #acks > 0 then
        redis.call('XACK', KEYS[1], ARGV[1], unpack(acks))
      end
      return results
      """;

  /**
   * Dead-letters one entry: KEYS[1] stream, KEYS[2] dead-letter stream; ARGV[1] group,
   * ARGV[2] consumer, ARGV[3] entry id, then the dead letter's field-value pairs. Only if the
   * entry is still pending for this consumer (so two consumers never both dead-letter it):
   * adds the dead letter and acknowledges the entry, returning 1; otherwise returns 0.
   */
  static final String DEAD_LETTER =
      """
      local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1, ARGV[2])
      if #p == 0 then
        return 0
      end
      local args = {'XADD', KEYS[2], '*'}
      for j = 4, #ARGV do
        args[#args + 1] = ARGV[j]
      end
      redis.call(unpack(args))
      redis.call('XACK', KEYS[1], ARGV[1], ARGV[3])
      return 1
      """;

  /**
   * One claim round: KEYS[1] stream; ARGV[1] group, ARGV[2] consumer, ARGV[3] min idle (ms),
   * ARGV[4] cursor, ARGV[5] count. Returns {next cursor, {{id, {field, value, ...},
   * delivery count}...}, {deleted id...}}.
   *
   * <p>A script rather than Lettuce's xautoclaim because Lettuce 7.7 drops the third reply
   * element of Redis 7 (ids deleted or trimmed while pending), and because the delivery
   * counts (needed for max deliveries) come from XPENDING in the same atomic step. One
   * XAUTOCLAIM scans at most ten times its count; entries whose consumers renew their
   * leases are never idle, so the round scans on past them (up to 100 such steps) instead of
   * ending empty while idle entries, a dead consumer's, wait further on.
   */
  static final String CLAIM =
      """
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
          out[#out + 1] = {id, e[2], count}
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
   * id...}}.
   */
  static final String OWN_PENDING =
      """
      local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], '+', ARGV[4], ARGV[2])
      local out = {}
      local deleted = {}
      local last = ''
      for _, pe in ipairs(p) do
        local id = pe[1]
        last = id
        local c = redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, id)
        if #c > 0 and c[1] and c[1][2] then
          out[#out + 1] = {id, c[1][2], pe[4] + 1}
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
   * set; ARGV[1] maxlen, ARGV[2] most to move. Each due member becomes a new entry with its
   * fields, and leaves the set, in one atomic run (so two consumers never both move it).
   * Returns how many were moved.
   */
  static final String MOVE_DUE =
      """
      local t = redis.call('TIME')
      local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
      local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0,
          tonumber(ARGV[2]))
      local moved = 0
      for _, m in ipairs(due) do
        local ok, d = pcall(cjson.decode, m)
        if ok and type(d) == 'table' and type(d.fields) == 'table' then
          local args
          if ARGV[1] ~= '0' then
            args = {'XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*'}
          else
            args = {'XADD', KEYS[1], '*'}
          end
          for _, v in ipairs(d.fields) do
            args[#args + 1] = v
          end
          redis.call(unpack(args))
          moved = moved + 1
        end
        redis.call('ZREM', KEYS[2], m)
      end
      return moved
      """;
}
