import Redis

/// The server side of `RedisFeatureStore`: one call per batch appends the batch's entries to each
/// entity's log and hands back what other clients appended since the caller last read that log.
/// It never interprets an entry beyond its leading time; windows are computed by the clients.
///
/// Per entity one Redis list, `…{card_fingerprint:abc}:tag`: element 0 is a header of four
/// big-endian doubles (`struct.pack('>dddd', epoch, base, mark, deadline)`: one C call reads it, no
/// text parsing), then the entries in arrival order (`LogEntryCodec`). All four are integers below
/// 2^53, exact in a double.
/// - epoch: a random number (1 … 2^52) of the call that created the list. A list that is gone (Redis restart,
///   FLUSHALL, expiry of an idle key) is created again under another epoch, so a client holding a
///   cursor of the old log knows to start the entity over.
/// - base: the absolute index of the first entry (entries are trimmed from the head).
/// - mark: a watermark the log has reached, written lazily (when it moved by retention / 8):
///   head entries at or before mark − retention are expired for every reader (docs/features.md,
///   rule 9) and are trimmed then.
/// - deadline: when the list's TTL (`PEXPIRE`, wall clock) runs out; pushed again once ttl / 16 of
///   it has passed, so a key in use costs one `PEXPIRE` per ttl / 16, not one per call.
///
/// KEYS: one list per entity; then, in update mode, the reply key.
/// ARGV: retention ms, ttl ms, mode (`1` read-only, `2` update), the epoch for logs this call
/// creates; then per entity: one binary argument `struct.pack('>dddd', cursor epoch (0 for none),
/// cursor (absolute index it has read up to), m, the newest time among the m entries)`, then the m
/// entries. (One packed argument instead of four numbers as text: fewer Lua strings, no `strtod`.)
///
/// Reply, per entity: the new `end` (absolute index after the last entry, this call's included)
/// when the epoch is the caller's and nothing was appended by others since its cursor; otherwise
/// an array: epoch (0 when the list does not exist), `from` (absolute index of the first entry
/// returned), `end`, then the entries in [from, end − m) — the caller's own are not sent back. `from`
/// is the caller's cursor when the epoch matches and nothing in between was trimmed, else the
/// log's base: the caller must then rebuild the entity from those entries (a trimmed gap holds only
/// expired entries, see `RedisFeatureStore`).
/// An update's reply is kept 10 s under the reply key and returned as it was when the same call
/// comes again (a retry after a lost reply), without appending anything twice.
enum LogScript {
    /// Part of every key name: lists written by an older layout are never read.
    static let layoutVersion = 5

    static let script = RedisScript(#"""
    local retention = tonumber(ARGV[1])
    local ttl = tonumber(ARGV[2])
    local readOnly = ARGV[3] == '1'
    local fresh = tonumber(ARGV[4])
    local entities = #KEYS
    local replyKey = nil
    if not readOnly then
      replyKey = KEYS[entities]
      entities = entities - 1
      local kept = redis.call('GET', replyKey)
      if kept then return cmsgpack.unpack(kept) end
    end
    local step = math.floor(retention / 8)
    local CHUNK = 64
    local now = false
    local function clock()
      if not now then
        local t = redis.call('TIME')
        now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
      end
      return now
    end
    -- RPUSH in slices: unpack() of thousands of arguments would overflow Lua's C stack.
    local function push(key, first, m)
      local length = 0
      local i = first
      while i < first + m do
        local last = math.min(i + 999, first + m - 1)
        length = redis.call('RPUSH', key, unpack(ARGV, i, last))
        i = last + 1
      end
      return length
    end
    -- Counts the head entries at or before limit (stopping at the first newer one) and drops them:
    -- LTRIM keeps the last dropped entry as element 0, which the caller overwrites with the header.
    local function trim(key, limit)
      local dropped = 0
      while true do
        local head = redis.call('LRANGE', key, 1 + dropped, dropped + CHUNK)
        local newer = false
        for _, entry in ipairs(head) do
          if tonumber(string.match(entry, '^(%-?%d+)')) > limit then
            newer = true
            break
          end
          dropped = dropped + 1
        end
        if newer or #head < CHUNK then break end
      end
      if dropped > 0 then redis.call('LTRIM', key, dropped, -1) end
      return dropped
    end

    local out = {}
    -- The usual answer (the caller's epoch, nothing to catch up on) is one integer, the new end.
    local function reply(k, epoch, from, finish, entries, cursorEpoch, cursor)
      if epoch ~= 0 and epoch == cursorEpoch and from == cursor and #entries == 0 then
        out[k] = finish
        return
      end
      local item = { epoch, from, finish }
      for i, entry in ipairs(entries) do item[3 + i] = entry end
      out[k] = item
    end
    local a = 5
    for k = 1, entities do
      local key = KEYS[k]
      local cursorEpoch, cursor, m, newest = struct.unpack('>dddd', ARGV[a])
      local first = a + 1
      a = first + m
      local header = redis.call('LINDEX', key, '0')
      if not header then
        if readOnly or m == 0 then
          reply(k, 0, 0, 0, {}, cursorEpoch, cursor)
        else
          -- A new log, under this call's epoch.
          redis.call('RPUSH', key, struct.pack('>dddd', fresh, 0, newest, clock() + ttl))
          push(key, first, m)
          redis.call('PEXPIRE', key, ttl)
          reply(k, fresh, 0, m, {}, cursorEpoch, cursor)
        end
      else
        local epoch, base, mark, deadline = struct.unpack('>dddd', header)
        local from = base
        if epoch == cursorEpoch and cursor >= base then from = cursor end
        local entries, finish
        if readOnly or m == 0 then
          -- A cursor past the log's end (a failover to a replica that missed the tail) restarts.
          if from > base + redis.call('LLEN', key) - 1 then from = base end
          entries = redis.call('LRANGE', key, from - base + 1, -1)
          finish = from + #entries
        else
          finish = base + push(key, first, m) - 1
          local before = finish - m
          if from > before then from = base end
          if from < before then entries = redis.call('LRANGE', key, from - base + 1, before - base) else entries = {} end
          local rewrite = false
          if newest - mark >= step then
            -- mark was reached by entries before this call's, which every reader applies first.
            base = base + trim(key, mark - retention)
            mark = newest
            rewrite = true
          end
          if clock() - (deadline - ttl) >= ttl / 16 then rewrite = true end
          if rewrite then
            deadline = clock() + ttl
            redis.call('LSET', key, '0', struct.pack('>dddd', epoch, base, mark, deadline))
            redis.call('PEXPIRE', key, ttl)
          end
        end
        reply(k, epoch, from, finish, entries, cursorEpoch, cursor)
      end
    end
    if replyKey then redis.call('SET', replyKey, cmsgpack.pack(out), 'PX', \#(replyRetentionMilliseconds)) end
    return out
    """#)

    /// How long the reply of an update is kept for a repeated call: well beyond a command
    /// timeout plus a reconnect, short enough that kept replies cost little memory.
    static let replyRetentionMilliseconds = 10_000
}
