import Redis

/// The server side of `RedisFeatureStore`: one call per batch appends the batch's entries to each
/// entity's log and hands back what other clients appended since the caller last read that log.
/// It never interprets an entry beyond its leading time; windows are computed by the clients.
///
/// Per entity two keys with the entity's hash tag: the log, a Redis list `…{card_fingerprint:abc}:tag`
/// of entries in arrival order (`LogEntryCodec`), and its header, a string `…{card_fingerprint:abc}:tag:h`
/// of four big-endian doubles (`struct.pack('>dddd', epoch, base, mark, deadline)`: one C call reads
/// it, no text parsing). All four are integers below 2^53, exact in a double. The headers of a
/// whole batch are read with one `MGET`, so the usual entity costs one Redis call (`RPUSHX`), not two.
/// - epoch: a random number (1 … 2^52) of the call that created the log. A log that is gone (Redis restart,
///   FLUSHALL, expiry of an idle entity) is created again under another epoch, so a client holding a
///   cursor of the old log knows to start the entity over.
/// - base: the absolute index of the list's first entry (entries are trimmed from the head).
/// - mark: a watermark the log has reached, written lazily (when it moved by retention / 8):
///   head entries at or before mark − retention are expired for every reader (docs/features.md,
///   rule 9) and are trimmed then.
/// - deadline: when both keys expire (`PXAT` / `PEXPIREAT` with this one absolute time, wall clock);
///   pushed again once ttl / 16 of it has passed, so a key in use costs one header write per ttl / 16.
///
/// The two keys live and die together: created in one call, written with the same absolute
/// expiry (Redis compares a script's keys with the script's start time, so both are expired or
/// neither), removed together by a restart or FLUSHALL; the script keeps the list non-empty.
/// A list without its header, or a header without its list (only by hand, or eviction, which must be
/// off), is a lost log: the next update creates both afresh under a new epoch.
///
/// KEYS: one list per entity, then the header of each in the same order; then, in update mode, the
/// reply key.
/// ARGV: retention ms, ttl ms, mode (`1` read-only, `2` update), the epoch for logs this call
/// creates; then per entity: one binary argument `struct.pack('>dddd', cursor epoch (0 for none),
/// cursor (absolute index it has read up to), m, the newest time among the m entries)`, then the m
/// entries. (One packed argument instead of four numbers as text: fewer Lua strings, no `strtod`.)
///
/// Reply, per entity: the new `end` (absolute index after the last entry, this call's included)
/// when the epoch is the caller's and nothing was appended by others since its cursor; otherwise
/// an array: epoch (0 when the log does not exist), `from` (absolute index of the first entry
/// returned), `end`, then the entries in [from, end − m) — the caller's own are not sent back. `from`
/// is the caller's cursor when the epoch matches and nothing in between was trimmed, else the
/// log's base: the caller must then rebuild the entity from those entries (a trimmed gap holds only
/// expired entries, see `RedisFeatureStore`).
/// An update's reply is kept 10 s under the reply key and returned as it was when the same call
/// comes again (a retry after a lost reply), without appending anything twice.
enum LogScript {
    /// Part of every key name: logs written by an older layout are never read.
    static let layoutVersion = 6

    /// Appended to a log's key name to name its header.
    static let headerSuffix = ":h"

    static let script = RedisScript(#"""
    local retention = tonumber(ARGV[1])
    local ttl = tonumber(ARGV[2])
    local readOnly = ARGV[3] == '1'
    local fresh = tonumber(ARGV[4])
    local replyKey = nil
    local entities
    if readOnly then
      entities = #KEYS / 2
    else
      replyKey = KEYS[#KEYS]
      entities = (#KEYS - 1) / 2
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
    -- Every header in one call; in slices, as unpack() of thousands of values would overflow Lua's C stack.
    local headers
    if entities <= 1000 then
      headers = entities > 0 and redis.call('MGET', unpack(KEYS, entities + 1, 2 * entities)) or {}
    else
      headers = {}
      local i = 1
      while i <= entities do
        local last = math.min(i + 999, entities)
        local part = redis.call('MGET', unpack(KEYS, entities + i, entities + last))
        for j = 1, #part do headers[i + j - 1] = part[j] end
        i = last + 1
      end
    end
    -- RPUSH (or RPUSHX: only onto an existing list) in slices; returns the list's new length.
    local function push(command, key, first, m)
      local length = 0
      local i = first
      while i < first + m do
        local last = math.min(i + 999, first + m - 1)
        length = redis.call(command, key, unpack(ARGV, i, last))
        if length == 0 then return 0 end
        i = last + 1
      end
      return length
    end
    -- Counts the head entries at or before limit among the first `most` (stopping at the first
    -- newer one) and drops them.
    local function trim(key, limit, most)
      local dropped = 0
      while dropped < most do
        local head = redis.call('LRANGE', key, dropped, math.min(dropped + CHUNK, most) - 1)
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
    local function writeHeader(key, headerKey, epoch, base, mark)
      local deadline = clock() + ttl
      redis.call('SET', headerKey, struct.pack('>dddd', epoch, base, mark, deadline), 'PXAT', deadline)
      redis.call('PEXPIREAT', key, deadline)
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
      local header = headers[k]
      if readOnly then
        local length = header and redis.call('LLEN', key) or 0
        if length == 0 then
          reply(k, 0, 0, 0, {}, cursorEpoch, cursor)
        else
          local epoch, base = struct.unpack('>dd', header)
          local from = base
          -- A cursor past the log's end (a failover to a replica that missed the tail) restarts.
          if epoch == cursorEpoch and cursor >= base and cursor <= base + length then from = cursor end
          local entries = redis.call('LRANGE', key, from - base, -1)
          reply(k, epoch, from, from + #entries, entries, cursorEpoch, cursor)
        end
      else
        local length = 0
        local epoch, base, mark, deadline
        if header then
          epoch, base, mark, deadline = struct.unpack('>dddd', header)
          length = push('RPUSHX', key, first, m)
        end
        if length == 0 then
          -- A new log, under this call's epoch; a list left without its header is dropped first.
          if push('RPUSH', key, first, m) ~= m then
            redis.call('DEL', key)
            push('RPUSH', key, first, m)
          end
          writeHeader(key, KEYS[entities + k], fresh, 0, newest)
          reply(k, fresh, 0, m, {}, cursorEpoch, cursor)
        else
          local finish = base + length
          local before = finish - m
          local from = base
          if epoch == cursorEpoch and cursor >= base and cursor <= before then from = cursor end
          local entries
          if from < before then entries = redis.call('LRANGE', key, from - base, before - base - 1) else entries = {} end
          if newest - mark >= step then
            -- mark was reached by entries before this call's, which every reader applies first.
            base = base + trim(key, mark - retention, before - base)
            writeHeader(key, KEYS[entities + k], epoch, base, newest)
          elseif clock() - (deadline - ttl) >= ttl / 16 then
            writeHeader(key, KEYS[entities + k], epoch, base, mark)
          end
          reply(k, epoch, from, finish, entries, cursorEpoch, cursor)
        end
      end
    end
    if replyKey then redis.call('SET', replyKey, cmsgpack.pack(out), 'PX', \#(replyRetentionMilliseconds)) end
    return out
    """#)

    /// How long the reply of an update is kept for a repeated call: well beyond a command
    /// timeout plus a reconnect, short enough that kept replies cost little memory.
    static let replyRetentionMilliseconds = 10_000
}
