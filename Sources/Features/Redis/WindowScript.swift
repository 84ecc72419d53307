import Redis

/// The server side of `RedisFeatureStore`: one call processes a whole batch. For every key value
/// of the batch it applies that key's events in order and returns every feature value.
///
/// Per key value two Redis keys with the same hash tag (one Cluster slot):
/// - the entries, a sorted set. Member = `time␟payment_id␟token…` (␟ = 0x1F; text is %-escaped so
///   it never contains ␟), score = event time in ms. One token per feature of the key: `-` when the
///   event does not count for that feature (filter false or value missing), else `1` (count,
///   seconds_since_*), the integer value (sum, avg, min, max) or `=value` (distinct). The script
///   needs no knowledge of filters or currencies.
/// - the running state, a MessagePack string: the watermark, per window length its start (entries
///   with time > start are in it) and its oldest entry time, and per feature the running count and
///   sum, a monotonic deque (min/max) or a counted map (distinct). Updated incrementally: an entry
///   enters each window once (on insert) and leaves once (when the window start passes it, fetched
///   with one range read), so an in-order event costs O(1) amortized calls whatever the window
///   holds. Reads in the past (accepted late events, redeliveries of older events, too-late events)
///   and read-only batches scan the event's window instead, like `KeyWindow`'s reads in the past.
///
/// The script declares `allow-cross-slot-keys` (Redis ≥ 7.0): one call may touch many entities,
/// all on one node; a cluster-aware client sends one call per node.
///
/// KEYS: per call group, the sorted set and the state key.
/// ARGV: lateness, retention, evictAfter, ttl (ms), readOnly (0/1), number of layouts; per layout
/// n features then n × (kind, window ms); then per call group: layout index, m events, and
/// m × (time, the store's newest time at this event, payment_id, member).
///
/// Reply: flat, per call group in order, per event its status (0 stored, 1 duplicate, 2 too late)
/// then two integers per feature (see `RedisFeatureStore.decode`). The rules are docs/features.md's,
/// step for step the same as `KeyWindow`: evict when idle, lateness against the watermark,
/// duplicates among equal-time entries, expiry (entries at or before watermark − retention are never
/// read; they are trimmed in steps of retention / 8), read over (t − W, t].
enum WindowScript {
    /// Part of every key name: keys written by an older layout of members or state are never read.
    static let layoutVersion = 2

    static let script = RedisScript(#"""
    #!lua flags=allow-cross-slot-keys
    local lateness = tonumber(ARGV[1])
    local retention = tonumber(ARGV[2])
    local evictAfter = tonumber(ARGV[3])
    local ttl = ARGV[4]
    local readOnly = ARGV[5] == '1'
    local SEP = string.char(31)
    local CHUNK = 16

    local layouts = {}
    local a = 7
    for g = 1, tonumber(ARGV[6]) do
      local L = { nf = tonumber(ARGV[a]), kinds = {}, windows = {}, wins = {}, winOf = {}, byWin = {}, horizon = 0 }
      a = a + 1
      for f = 1, L.nf do
        local kind, w = tonumber(ARGV[a]), tonumber(ARGV[a + 1])
        a = a + 2
        L.kinds[f], L.windows[f] = kind, w
        if w > L.horizon then L.horizon = w end
        if kind <= 6 then
          local wi = nil
          for j, x in ipairs(L.wins) do if x == w then wi = j end end
          if not wi then
            wi = #L.wins + 1
            L.wins[wi], L.byWin[wi] = w, {}
          end
          L.winOf[f] = wi
          L.byWin[wi][#L.byWin[wi] + 1] = f
        end
      end
      layouts[g] = L
    end

    local cache = {}
    local function parse(member)
      local parts = cache[member]
      if parts then return parts end
      parts = {}
      local start = 1
      while true do
        local i = string.find(member, SEP, start, true)
        if not i then
          parts[#parts + 1] = string.sub(member, start)
          break
        end
        parts[#parts + 1] = string.sub(member, start, i - 1)
        start = i + 1
      end
      parts[1] = tonumber(parts[1])
      cache[member] = parts
      return parts
    end

    local function fresh(L)
      local st = { n = false, tr = false, lo = {}, nx = {}, c = {}, s = {}, dt = {}, dv = {}, m = {}, d = {} }
      for wi = 1, #L.wins do st.lo[wi], st.nx[wi] = 0, false end
      for f = 1, L.nf do st.c[f], st.s[f], st.dt[f], st.dv[f], st.m[f], st.d[f] = 0, 0, {}, {}, {}, 0 end
      return st
    end

    -- Monotonic deque of (time, value), times ascending, values strictly decreasing for a max
    -- (increasing for a min): each element is the extreme of the entries from its time on, so the
    -- front is the window's extreme. Also exact for a late insert (the entries after it are untouched).
    local function dequeInsert(dt, dv, t, v, isMax)
      local n = #dt
      local p = n + 1
      while p > 1 and dt[p - 1] > t do p = p - 1 end
      if p <= n and ((isMax and dv[p] >= v) or (not isMax and dv[p] <= v)) then return end
      local q = p
      while q > 1 and ((isMax and dv[q - 1] <= v) or (not isMax and dv[q - 1] >= v)) do q = q - 1 end
      for _ = q, p - 1 do
        table.remove(dt, q)
        table.remove(dv, q)
      end
      table.insert(dt, q, t)
      table.insert(dv, q, v)
    end

    local function enter(st, L, f, e)
      local tok = e[2 + f]
      if tok == '-' then return end
      local kind = L.kinds[f]
      if kind == 1 then
        st.c[f] = st.c[f] + 1
      elseif kind == 2 or kind == 3 then
        st.c[f] = st.c[f] + 1
        st.s[f] = st.s[f] + tonumber(tok)
      elseif kind == 4 or kind == 5 then
        dequeInsert(st.dt[f], st.dv[f], e[1], tonumber(tok), kind == 5)
      else
        local n = (st.m[f][tok] or 0) + 1
        st.m[f][tok] = n
        if n == 1 then st.d[f] = st.d[f] + 1 end
      end
    end

    local function leave(st, L, f, e)
      local tok = e[2 + f]
      if tok == '-' then return end
      local kind = L.kinds[f]
      if kind == 1 then
        st.c[f] = st.c[f] - 1
      elseif kind == 2 or kind == 3 then
        st.c[f] = st.c[f] - 1
        st.s[f] = st.s[f] - tonumber(tok)
      elseif kind == 6 then
        local n = st.m[f][tok] - 1
        if n == 0 then
          st.m[f][tok] = nil
          st.d[f] = st.d[f] - 1
        else
          st.m[f][tok] = n
        end
      end
    end

    -- Moves window wi's start to newLo: the entries in (start, newLo] leave, read in chunks.
    local function advance(Z, st, L, wi, newLo)
      local lo = st.lo[wi]
      if newLo <= lo then return end
      st.lo[wi] = newLo
      local nx = st.nx[wi]
      if nx and nx <= newLo then
        local offset, nextTime = 0, false
        while true do
          local members = redis.call('ZRANGEBYSCORE', Z, '(' .. lo, '+inf', 'LIMIT', offset, CHUNK)
          for _, member in ipairs(members) do
            local e = parse(member)
            if e[1] > newLo then
              nextTime = e[1]
              break
            end
            for _, f in ipairs(L.byWin[wi]) do leave(st, L, f, e) end
          end
          if nextTime or #members < CHUNK then break end
          offset = offset + CHUNK
        end
        st.nx[wi] = nextTime
      end
      for _, f in ipairs(L.byWin[wi]) do
        local dt, dv = st.dt[f], st.dv[f]
        while #dt > 0 and dt[1] <= newLo do
          table.remove(dt, 1)
          table.remove(dv, 1)
        end
      end
    end

    -- Adds a stored entry to every window it falls in, then moves the windows with the watermark.
    local function insert(Z, st, L, e)
      local te = e[1]
      local old = st.n
      if not old then
        st.n, st.tr = te, te - retention
        for wi = 1, #L.wins do st.lo[wi], st.nx[wi] = te - L.wins[wi], false end
      end
      for wi = 1, #L.wins do
        if te > st.lo[wi] then
          if not st.nx[wi] or te < st.nx[wi] then st.nx[wi] = te end
          for _, f in ipairs(L.byWin[wi]) do enter(st, L, f, e) end
        end
      end
      if old and te > old then
        st.n = te
        for wi = 1, #L.wins do advance(Z, st, L, wi, te - L.wins[wi]) end
      end
    end

    -- The state of a key: stored, absent (a new key), or rebuilt from the entries if only they survived.
    local function load(Z, S, L)
      local blob = redis.call('GET', S)
      if blob then return cmsgpack.unpack(blob), false end
      local st = fresh(L)
      local top = redis.call('ZRANGE', Z, -1, -1)
      if #top == 0 then return st, false end
      local newest = parse(top[1])[1]
      st.n, st.tr = newest, newest - retention - retention
      for wi = 1, #L.wins do st.lo[wi] = newest - L.wins[wi] end
      for _, member in ipairs(redis.call('ZRANGEBYSCORE', Z, '(' .. (newest - L.horizon), '+inf')) do
        local e = parse(member)
        for wi = 1, #L.wins do
          if e[1] > st.lo[wi] then
            if not st.nx[wi] then st.nx[wi] = e[1] end
            for _, f in ipairs(L.byWin[wi]) do enter(st, L, f, e) end
          end
        end
      end
      return st, true
    end

    local function isDuplicate(Z, t, pid)
      for _, member in ipairs(redis.call('ZRANGEBYSCORE', Z, t, t)) do
        if parse(member)[2] == pid then return true end
      end
      return false
    end

    -- seconds_since_first / _last over (floor, t]: the first / last entry that counts for feature f.
    local function firstCounting(Z, f, floor, t, latest)
      local offset = 0
      while true do
        local members
        if latest then
          members = redis.call('ZREVRANGEBYSCORE', Z, '(' .. t, '(' .. floor, 'LIMIT', offset, CHUNK)
        else
          members = redis.call('ZRANGEBYSCORE', Z, '(' .. floor, t, 'LIMIT', offset, CHUNK)
        end
        for _, member in ipairs(members) do
          local e = parse(member)
          if e[2 + f] ~= '-' then return e[1] end
        end
        if #members < CHUNK then return nil end
        offset = offset + CHUNK
      end
    end

    local out = {}
    local function emit(a, b)
      out[#out + 1] = a
      out[#out + 1] = b
    end

    -- An in-order read (t is the watermark): every window's running state is exactly (t − W, t].
    local function runningRead(Z, st, L, t)
      for f = 1, L.nf do
        local kind = L.kinds[f]
        if kind == 1 then
          emit(st.c[f], 0)
        elseif kind == 2 or kind == 3 then
          emit(st.s[f], st.c[f])
        elseif kind == 4 or kind == 5 then
          local dv = st.dv[f]
          if #dv > 0 then emit(dv[1], 1) else emit(0, 0) end
        elseif kind == 6 then
          emit(st.d[f], 0)
        else
          local at = firstCounting(Z, f, t - L.windows[f], t, kind == 8)
          if at then emit(t - at, 1) else emit(0, 0) end
        end
      end
    end

    -- A read in the past or a read-only read: scan the window, plus the unstored event itself.
    local function scanRead(Z, st, L, t, virtual)
      local entries = {}
      if st.n then
        local floor = t - L.horizon
        if st.n - retention > floor then floor = st.n - retention end
        for k, member in ipairs(redis.call('ZRANGEBYSCORE', Z, '(' .. floor, t)) do entries[k] = parse(member) end
      end
      if virtual then entries[#entries + 1] = virtual end
      for f = 1, L.nf do
        local kind, lo = L.kinds[f], t - L.windows[f]
        local n, sum, ext, first, last = 0, 0, nil, nil, nil
        local seen = {}
        for _, e in ipairs(entries) do
          local et = e[1]
          local tok = e[2 + f]
          if et > lo and et <= t and tok ~= '-' then
            if kind == 1 then
              n = n + 1
            elseif kind == 2 or kind == 3 then
              n = n + 1
              sum = sum + tonumber(tok)
            elseif kind == 4 then
              local v = tonumber(tok)
              if ext == nil or v < ext then ext = v end
            elseif kind == 5 then
              local v = tonumber(tok)
              if ext == nil or v > ext then ext = v end
            elseif kind == 6 then
              if not seen[tok] then
                seen[tok] = true
                n = n + 1
              end
            elseif kind == 7 then
              if first == nil or et < first then first = et end
            elseif et < t and (last == nil or et > last) then
              last = et
            end
          end
        end
        if kind == 1 or kind == 6 then
          emit(n, 0)
        elseif kind == 2 or kind == 3 then
          emit(sum, n)
        elseif kind == 4 or kind == 5 then
          if ext then emit(ext, 1) else emit(0, 0) end
        elseif kind == 7 then
          if first then emit(t - first, 1) else emit(0, 0) end
        elseif last then
          emit(t - last, 1)
        else
          emit(0, 0)
        end
      end
    end

    local k = 1
    while a <= #ARGV do
      local L = layouts[tonumber(ARGV[a])]
      local m = tonumber(ARGV[a + 1])
      a = a + 2
      local Z, S = KEYS[k], KEYS[k + 1]
      k = k + 2
      local st, dirty = load(Z, S, L)
      for _ = 1, m do
        local t, newestAt, pid, member = tonumber(ARGV[a]), tonumber(ARGV[a + 1]), ARGV[a + 2], ARGV[a + 3]
        a = a + 4
        if st.n and st.n < newestAt - evictAfter then
          if not readOnly then redis.call('DEL', Z, S) end
          st, dirty = fresh(L), false
        end
        local status = 0
        if st.n then
          if t < st.n - lateness then
            status = 2
          elseif t <= st.n and isDuplicate(Z, t, pid) then
            status = 1
          end
        end
        local virtual = nil
        if status == 0 then
          if readOnly then
            virtual = parse(member)
          else
            redis.call('ZADD', Z, t, member)
            insert(Z, st, L, parse(member))
            dirty = true
          end
        end
        out[#out + 1] = status
        if not readOnly and st.n == t then runningRead(Z, st, L, t) else scanRead(Z, st, L, t, virtual) end
      end
      if dirty and not readOnly then
        if st.n - retention - st.tr >= retention / 8 then
          redis.call('ZREMRANGEBYSCORE', Z, '-inf', st.n - retention)
          st.tr = st.n - retention
        end
        redis.call('PEXPIRE', Z, ttl)
        redis.call('SET', S, cmsgpack.pack(st), 'PX', ttl)
      end
    end
    return out
    """#)

    static func code(_ kind: AggregateKind) -> Int {
        switch kind {
        case .count: 1
        case .sum: 2
        case .avg: 3
        case .min: 4
        case .max: 5
        case .distinct: 6
        case .secondsSinceFirst: 7
        case .secondsSinceLast: 8
        }
    }
}
