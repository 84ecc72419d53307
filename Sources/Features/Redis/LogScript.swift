import Redis

/// The server side of `RedisFeatureStore`'s slow paths and upkeep. The hot path is no script at all:
/// one `MULTI` of `RPUSHX` + `LINDEX 0` per entity (`LogCommandEncoder.encodeAppend`); these scripts
/// run only for what that cannot do, and never interpret an entry beyond its leading time.
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
/// Only `script` creates a list, always with a header and a TTL (`RPUSHX` never creates one).
enum LogScript {
    /// Part of every key name: lists written by an older layout are never read.
    static let layoutVersion = 5

    /// What `script` does with each entity's entries (ARGV[3]).
    enum Action: Int64 {
        /// Appends nothing, creates nothing.
        case readOnly = 1
        /// Appends (creating the list if it is missing).
        case update = 2
        /// The retry of an update whose reply was lost: appends only where the entries are not in the
        /// log yet, found as one contiguous run after the cursor.
        case recover = 3
    }

    /// What every script starts with: ARGV[1] retention ms, ARGV[2] ttl ms; the server clock; the
    /// trim; and the upkeep one append makes due (`maintain`), shared by `script` and `maintenance`.
    private static let prelude = #"""
    local retention = tonumber(ARGV[1])
    local ttl = tonumber(ARGV[2])
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
    -- After entries up to newest were appended: trims and moves the mark once newest is step past it
    -- (mark was reached by entries before these, which every reader applies first), pushes the TTL
    -- once ttl / 16 of it has passed. Returns the header as it leaves it.
    local function maintain(key, epoch, base, mark, deadline, newest)
      local rewrite = false
      if newest - mark >= step then
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
      return base, mark, deadline
    end

    """#

    /// What the `MULTI` block cannot do (entities new to the instance, lists that are missing, a
    /// retry after a lost reply) and read-only batches: one call for a set of entities.
    ///
    /// KEYS: one list per entity. ARGV: retention ms, ttl ms, the action (`Action`), the epoch for
    /// logs this call creates; then per entity: one binary argument `struct.pack('>dddd', cursor
    /// epoch (0 for none), cursor (absolute index it has read up to), m, the newest time among the m
    /// entries)`, then the m entries (none when read-only).
    ///
    /// Reply, per entity: an array: epoch (0 when the list does not exist), `from` (absolute index of
    /// the first entry returned), `end` (absolute index after the caller's entries, or after the last
    /// entry when read-only), the header's mark and deadline, then the entries in [from, end − m):
    /// the caller's own are not sent back. `from` is the caller's cursor when the epoch matches and
    /// nothing in between was trimmed, else the log's base: the caller must then rebuild the entity
    /// from those entries (a trimmed gap holds only expired entries, see `RedisFeatureStore`).
    static let script = RedisScript(prelude + #"""
    local action = ARGV[3]
    local readOnly = action == '1'
    local fresh = tonumber(ARGV[4])
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
    -- The first position in tail where ARGV[first .. first + m - 1] stand as one run, or nil.
    local function find(tail, first, m)
      for i = 1, #tail - m + 1 do
        local j = 0
        while j < m and tail[i + j] == ARGV[first + j] do j = j + 1 end
        if j == m then return i end
      end
      return nil
    end

    local out = {}
    local a = 5
    for k = 1, #KEYS do
      local key = KEYS[k]
      local cursorEpoch, cursor, m, newest = struct.unpack('>dddd', ARGV[a])
      local first = a + 1
      a = first + m
      local header = redis.call('LINDEX', key, '0')
      if not header then
        if readOnly or m == 0 then
          out[k] = { 0, 0, 0, 0, 0 }
        else
          -- A new log, under this call's epoch.
          local deadline = clock() + ttl
          redis.call('RPUSH', key, struct.pack('>dddd', fresh, 0, newest, deadline))
          push(key, first, m)
          redis.call('PEXPIRE', key, ttl)
          out[k] = { fresh, 0, m, newest, deadline }
        end
      else
        local epoch, base, mark, deadline = struct.unpack('>dddd', header)
        local from = base
        if epoch == cursorEpoch and cursor >= base then from = cursor end
        local entries, finish
        if readOnly or m == 0 or action == '3' then
          -- A cursor past the log's end (a failover to a replica that missed the tail) restarts.
          if from > base + redis.call('LLEN', key) - 1 then from = base end
          entries = redis.call('LRANGE', key, from - base + 1, -1)
          finish = from + #entries
        end
        local own = nil
        if action == '3' then own = find(entries, first, m) end
        if own then
          -- The lost call's entries are in: what stands before them is catch-up.
          for i = #entries, own, -1 do entries[i] = nil end
          finish = from + own - 1 + m
        elseif not (readOnly or m == 0) then
          finish = base + push(key, first, m) - 1
          local before = finish - m
          if from > before then from = base end
          if from < before then entries = redis.call('LRANGE', key, from - base + 1, before - base) else entries = {} end
          base, mark, deadline = maintain(key, epoch, base, mark, deadline, newest)
        end
        local item = { epoch, from, finish, mark, deadline }
        for i, entry in ipairs(entries) do item[5 + i] = entry end
        out[k] = item
      end
    end
    return out
    """#)

    /// The catch-up read after a `MULTI` append: the entries others appended between the caller's
    /// cursor and its own entries, re-checking the header (another client may have trimmed or
    /// recreated the list since the append).
    ///
    /// KEYS: one list per entity. ARGV: per entity `struct.pack('>ddd', epoch, from, before)`: the
    /// epoch the append saw and the absolute range [from, before) to read.
    /// Reply, per entity: nil when the list is gone or has another epoch (the caller's entries went
    /// with the old one); else an array: the absolute index of the first entry returned (the base
    /// when the head was trimmed past `from`), then the entries up to `before`.
    static let read = RedisScript(#"""
    local out = {}
    for k = 1, #KEYS do
      local key = KEYS[k]
      local expected, from, before = struct.unpack('>ddd', ARGV[k])
      local header = redis.call('LINDEX', key, '0')
      local item = false
      if header then
        local epoch, base = struct.unpack('>dddd', header)
        if epoch == expected then
          if from < base then from = base end
          item = { from }
          if from < before then
            for i, entry in ipairs(redis.call('LRANGE', key, from - base + 1, before - base)) do item[1 + i] = entry end
          end
        end
      end
      out[k] = item
    end
    return out
    """#)

    /// Upkeep after a `MULTI` append, for the entities whose header (as the caller last saw it) says
    /// a trim or a TTL push is due: `maintain` of `script`, re-checked on the header as it is now.
    ///
    /// KEYS: one list per entity. ARGV: retention ms, ttl ms, then per entity
    /// `struct.pack('>dd', epoch, newest)`: the epoch the caller appended under (a list with another
    /// epoch is skipped: the caller's entries are not in it) and the newest time it appended.
    /// Reply, per entity: nil when skipped, else { mark, deadline } as the header now holds them.
    static let maintenance = RedisScript(prelude + #"""
    local out = {}
    for k = 1, #KEYS do
      local key = KEYS[k]
      local expected, newest = struct.unpack('>dd', ARGV[2 + k])
      local header = redis.call('LINDEX', key, '0')
      local item = false
      if header then
        local epoch, base, mark, deadline = struct.unpack('>dddd', header)
        if epoch == expected then
          base, mark, deadline = maintain(key, epoch, base, mark, deadline, newest)
          item = { mark, deadline }
        end
      end
      out[k] = item
    end
    return out
    """#)

    static let all = [script, read, maintenance]
}
