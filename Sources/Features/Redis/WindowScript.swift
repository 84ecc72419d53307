import Redis

/// The server side of `RedisFeatureStore`: one call processes a whole batch. For every key value
/// of the batch it applies that key's events in order and returns every feature value.
///
/// Per key value two Redis keys with the same hash tag (one Cluster slot):
/// - the entries, a sorted set. Member = `time␟payment_id␟token…` (␟ = 0x1F; text is %-escaped so
///   it never contains ␟), score = event time in ms. One token per feature of the key: `-` when the
///   event does not count for that feature (filter false or value missing), else `1` (count,
///   seconds_since_*), the integer value (sum, avg, min, max) or `=value` (distinct). The script
///   needs no knowledge of filters or currencies; one pattern match splits a member, and each
///   member is split at most once per call.
/// - the running state of every window (n − W, n] at the key's watermark n, a MessagePack string:
///   the watermark, per window length its oldest entry time, and per feature the running count and
///   sum, a monotonic deque (min/max) or a counted map (distinct). An entry enters each window once
///   (on insert) and leaves once (when the window start passes it, fetched with one range read).
///
/// A read at time t < n (an accepted late event, the redelivery of an older event) is answered by
/// deltas against that state: the entries in (t, n] leave and those in (t − W, n − W] enter, both
/// ranges spanning n − t ≤ lateness of event time, so its cost does not grow with W. The one range
/// read [t, n] per late event also serves the duplicate check. min/max take the deque front when it
/// is at or before t and otherwise read (n − W, t] of that window (rare unless values rise
/// steadily). A too-late event, or a window shorter than the event is late, reads (t − W, t] of that
/// window. A read-only read after n removes the entries in (n − W, t − W]. Nothing is ever scanned
/// over the key's longest window.
///
/// The script declares `allow-cross-slot-keys` (Redis ≥ 7.0): one call may touch many entities,
/// all on one node; a cluster-aware client sends one call per node.
///
/// KEYS: per call group, the sorted set and the state key; then, for mode 2, the reply key.
/// ARGV: lateness, retention, evictAfter, ttl (ms), mode (0 update, 1 read-only, 2 update whose
/// reply is kept for `replyRetentionMilliseconds` under the reply key and returned as it was if
/// the same call comes again), number of layouts; per layout
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
    static let layoutVersion = 3

    static let script = RedisScript(#"""
    #!lua flags=allow-cross-slot-keys
    local lateness = tonumber(ARGV[1])
    local retention = tonumber(ARGV[2])
    local evictAfter = tonumber(ARGV[3])
    local ttl = tonumber(ARGV[4])
    local readOnly = ARGV[5] == '1'
    -- '2': an update whose reply is kept under the last key, so the same call sent again (a retry
    -- after a lost or late reply) gets that reply back instead of re-reading its events as
    -- duplicates over everything stored since.
    local replyKey = ARGV[5] == '2' and KEYS[#KEYS] or nil
    if replyKey then
      local kept = redis.call('GET', replyKey)
      if kept then return cmsgpack.unpack(kept) end
    end
    local SEP = string.char(31)
    local CHUNK = 16
    local NONE = {}

    local layouts = {}
    local a = 7
    for g = 1, tonumber(ARGV[6]) do
      local L = { nf = tonumber(ARGV[a]), kinds = {}, windows = {}, wins = {}, byWin = {}, horizon = 0 }
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
          L.byWin[wi][#L.byWin[wi] + 1] = f
        end
      end
      -- One pattern match splits a member (Lua allows 32 captures; wider layouts split in a loop).
      if L.nf + 2 <= 32 then L.pattern = '^([^' .. SEP .. ']*)' .. string.rep(SEP .. '([^' .. SEP .. ']*)', L.nf + 1) .. '$' end
      layouts[g] = L
    end

    -- A member as { time, payment_id, token… }: a token is false when the event does not count for
    -- that feature, the value's text (`=…`) for distinct, else a number.
    local cache = {}
    local function parse(member, L)
      local e = cache[member]
      if e then return e end
      if L.pattern then
        e = { string.match(member, L.pattern) }
      else
        e = {}
        local start = 1
        while true do
          local i = string.find(member, SEP, start, true)
          if not i then
            e[#e + 1] = string.sub(member, start)
            break
          end
          e[#e + 1] = string.sub(member, start, i - 1)
          start = i + 1
        end
      end
      e[1] = tonumber(e[1])
      for i = 3, #e do
        local tok = e[i]
        if tok == '-' then
          e[i] = false
        elseif string.byte(tok, 1) ~= 61 then
          e[i] = tonumber(tok)
        end
      end
      cache[member] = e
      return e
    end

    -- The stored entries with time in (lo, hi], oldest first.
    local function range(Z, L, lo, hi)
      local list = {}
      if hi <= lo then return list end
      for i, member in ipairs(redis.call('ZRANGEBYSCORE', Z, '(' .. lo, hi)) do list[i] = parse(member, L) end
      return list
    end

    local function fresh(L)
      local st = { n = false, tr = false, zx = false, nx = {}, pv = {}, c = {}, s = {}, dt = {}, dv = {}, m = {}, d = {} }
      for wi = 1, #L.wins do st.nx[wi], st.pv[wi] = false, false end
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
      if not tok then return end
      local kind = L.kinds[f]
      if kind == 1 then
        st.c[f] = st.c[f] + 1
      elseif kind == 2 or kind == 3 then
        st.c[f] = st.c[f] + 1
        st.s[f] = st.s[f] + tok
      elseif kind == 4 or kind == 5 then
        dequeInsert(st.dt[f], st.dv[f], e[1], tok, kind == 5)
      else
        local n = (st.m[f][tok] or 0) + 1
        st.m[f][tok] = n
        if n == 1 then st.d[f] = st.d[f] + 1 end
      end
    end

    local function leave(st, L, f, e)
      local tok = e[2 + f]
      if not tok then return end
      local kind = L.kinds[f]
      if kind == 1 then
        st.c[f] = st.c[f] - 1
      elseif kind == 2 or kind == 3 then
        st.c[f] = st.c[f] - 1
        st.s[f] = st.s[f] - tok
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

    -- Moves window wi's start from lo to newLo: the entries in (lo, newLo] leave, read in chunks.
    -- nx = the oldest entry time in the window (no read when it stays in); pv = the newest entry time
    -- before the window (or more), so a late read knows when no entry can enter.
    local function advance(Z, st, L, wi, lo, newLo)
      local nx = st.nx[wi]
      if nx and nx <= newLo then
        local offset, nextTime = 0, false
        while true do
          local members = redis.call('ZRANGEBYSCORE', Z, '(' .. lo, '+inf', 'LIMIT', offset, CHUNK)
          for _, member in ipairs(members) do
            local e = parse(member, L)
            if e[1] > newLo then
              nextTime = e[1]
              break
            end
            st.pv[wi] = e[1]
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

    -- Adds a stored entry to every window (n − W, n] it falls in, then moves the windows with the watermark n.
    local function insert(Z, st, L, e)
      local te = e[1]
      local old = st.n
      if not old then
        st.n, st.tr, old = te, te - retention, te
      end
      for wi, w in ipairs(L.wins) do
        if te > old - w then
          if not st.nx[wi] or te < st.nx[wi] then st.nx[wi] = te end
          for _, f in ipairs(L.byWin[wi]) do enter(st, L, f, e) end
        elseif not st.pv[wi] or te > st.pv[wi] then
          st.pv[wi] = te
        end
      end
      if te > old then
        st.n = te
        for wi, w in ipairs(L.wins) do advance(Z, st, L, wi, old - w, te - w) end
      end
    end

    -- The state of a key: stored, absent (a new key), or rebuilt from the entries if only they survived.
    local function load(Z, S, L)
      local blob = redis.call('GET', S)
      if blob then return cmsgpack.unpack(blob), false end
      local st = fresh(L)
      local top = redis.call('ZRANGE', Z, -1, -1)
      if #top == 0 then return st, false end
      local newest = parse(top[1], L)[1]
      st.n, st.tr = newest, newest - retention - retention
      for wi, w in ipairs(L.wins) do st.pv[wi] = newest - w end
      for _, e in ipairs(range(Z, L, newest - L.horizon, newest)) do
        for wi, w in ipairs(L.wins) do
          if e[1] > newest - w then
            if not st.nx[wi] then st.nx[wi] = e[1] end
            for _, f in ipairs(L.byWin[wi]) do enter(st, L, f, e) end
          end
        end
      end
      return st, true
    end

    -- seconds_since_first / _last over (floor, t]: the first / last entry that counts for feature f.
    local function firstCounting(Z, L, f, floor, t, latest)
      local offset = 0
      while true do
        local members
        if latest then
          members = redis.call('ZREVRANGEBYSCORE', Z, '(' .. t, '(' .. floor, 'LIMIT', offset, CHUNK)
        else
          members = redis.call('ZRANGEBYSCORE', Z, '(' .. floor, t, 'LIMIT', offset, CHUNK)
        end
        for _, member in ipairs(members) do
          local e = parse(member, L)
          if e[2 + f] then return e[1] end
        end
        if #members < CHUNK then return nil end
        offset = offset + CHUNK
      end
    end

    local out = {}
    local ra, rb = {}, {}

    -- count/sum/avg (kind ≤ 3) and distinct (6) over a window given as a base (the running state of
    -- (n − W, n], or nothing) minus the leaving entries plus the entering ones. Nothing is modified:
    -- distinct overlays its changes on the counted map.
    local function additive(st, f, kind, base, leaving, entering, virtual)
      if kind <= 3 then
        local c, s = 0, 0
        if base then c, s = st.c[f], st.s[f] end
        for _, e in ipairs(leaving) do
          local tok = e[2 + f]
          if tok then
            c = c - 1
            if kind > 1 then s = s - tok end
          end
        end
        for _, e in ipairs(entering) do
          local tok = e[2 + f]
          if tok then
            c = c + 1
            if kind > 1 then s = s + tok end
          end
        end
        if virtual and virtual[2 + f] then
          c = c + 1
          if kind > 1 then s = s + virtual[2 + f] end
        end
        if kind == 1 then ra[f], rb[f] = c, 0 else ra[f], rb[f] = s, c end
      else
        local m, d, overlay = NONE, 0, {}
        if base then m, d = st.m[f], st.d[f] end
        for _, e in ipairs(leaving) do
          local tok = e[2 + f]
          if tok then
            local k = (overlay[tok] or m[tok] or 0) - 1
            overlay[tok] = k
            if k == 0 then d = d - 1 end
          end
        end
        local function add(tok)
          local k = (overlay[tok] or m[tok] or 0) + 1
          overlay[tok] = k
          if k == 1 then d = d + 1 end
        end
        for _, e in ipairs(entering) do
          if e[2 + f] then add(e[2 + f]) end
        end
        if virtual and virtual[2 + f] then add(virtual[2 + f]) end
        ra[f], rb[f] = d, 0
      end
    end

    -- Reads every feature at time t given the key's running state at its watermark n (t ≤ n unless
    -- read-only). R = the entries in (t, n] when the event is within lateness and t < n; virtual =
    -- the event itself when it counts but is not stored (read-only). Per window W:
    -- - t = n: the running state.
    -- - n − W < t < n: state − R + the entries in (t − W, n − W]; both ranges span n − t ≤ lateness.
    --   min/max: the deque front when its time ≤ t (it is then also the extreme of (n − W, t]),
    --   else the entries of (n − W, t] are read.
    -- - t > n (read-only): state − the entries in (n − W, t − W]; min/max: the first deque element
    --   after t − W.
    -- - otherwise (a window shorter than the event is late, a too-late event): the entries of
    --   (max(t − W, n − retention), t] are read.
    local function read(Z, st, L, t, R, virtual)
      local n = st.n
      for wi, w in ipairs(L.wins) do
        local base, leaving, entering = false, NONE, NONE
        if not n then
          base = false
        elseif t == n then
          base = true
        elseif t > n then
          if t - w < n then
            base = true
            local nx = st.nx[wi]
            if nx and nx <= t - w then leaving = range(Z, L, n - w, t - w) end
          end
        elseif R and t > n - w then
          base, leaving = true, R
          local pv = st.pv[wi]
          if pv and pv > t - w then entering = range(Z, L, t - w, n - w) end
        else
          local lo = t - w
          if lo < n - retention then lo = n - retention end
          entering = range(Z, L, lo, t)
        end
        local between = nil
        for _, f in ipairs(L.byWin[wi]) do
          local kind = L.kinds[f]
          if kind == 4 or kind == 5 then
            local isMax = kind == 5
            local ext = nil
            local function take(v)
              if ext == nil or (isMax and v > ext) or (not isMax and v < ext) then ext = v end
            end
            for _, e in ipairs(entering) do
              if e[2 + f] then take(e[2 + f]) end
            end
            if virtual and virtual[2 + f] then take(virtual[2 + f]) end
            if base then
              local dt, dv = st.dt[f], st.dv[f]
              if t >= n then
                for j = 1, #dt do
                  if dt[j] > t - w then
                    take(dv[j])
                    break
                  end
                end
              elseif #dt > 0 then
                if dt[1] <= t then
                  take(dv[1])
                else
                  between = between or range(Z, L, n - w, t)
                  for _, e in ipairs(between) do
                    if e[2 + f] then take(e[2 + f]) end
                  end
                end
              end
            end
            if ext then ra[f], rb[f] = ext, 1 else ra[f], rb[f] = 0, 0 end
          else
            additive(st, f, kind, base, leaving, entering, virtual)
          end
        end
      end
      for f = 1, L.nf do
        local kind = L.kinds[f]
        if kind >= 7 then
          local floor = t - L.windows[f]
          if n and n - retention > floor then floor = n - retention end
          local at = nil
          if n then at = firstCounting(Z, L, f, floor, t, kind == 8) end
          if kind == 7 and not at and virtual and virtual[2 + f] then at = t end
          if at then ra[f], rb[f] = t - at, 1 else ra[f], rb[f] = 0, 0 end
        end
        out[#out + 1] = ra[f]
        out[#out + 1] = rb[f]
      end
    end

    -- The entries key must outlive the state key (a state without its entries would count events
    -- that are gone): its expiry is set ttl / 8 past the state's and refreshed (one PEXPIRE) only when
    -- the state's comes within ttl / 16 of it, by the server's clock (TIME, once per call).
    local now = false
    local function refreshEntriesTTL(Z, st)
      if not now then
        local clock = redis.call('TIME')
        now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
      end
      if not st.zx or now + ttl + ttl / 16 > st.zx then
        local entriesTTL = ttl + math.floor(ttl / 8)
        redis.call('PEXPIRE', Z, entriesTTL)
        st.zx = now + entriesTTL
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
        -- One range read [t, n] gives both the duplicate check (entries at t) and R = (t, n].
        local status, R = 0, nil
        if st.n then
          if t < st.n - lateness then
            status = 2
          elseif t <= st.n then
            R = {}
            for _, stored in ipairs(redis.call('ZRANGEBYSCORE', Z, t, st.n)) do
              local e = parse(stored, L)
              if e[1] > t then
                R[#R + 1] = e
              elseif e[2] == pid then
                status = 1
              end
            end
          end
        end
        local virtual = nil
        if status == 0 then
          if readOnly then
            virtual = parse(member, L)
          else
            redis.call('ZADD', Z, t, member)
            insert(Z, st, L, parse(member, L))
            dirty = true
          end
        end
        out[#out + 1] = status
        read(Z, st, L, t, R, virtual)
      end
      if dirty and not readOnly then
        if st.n - retention - st.tr >= retention / 8 then
          redis.call('ZREMRANGEBYSCORE', Z, '-inf', st.n - retention)
          st.tr = st.n - retention
        end
        refreshEntriesTTL(Z, st)
        redis.call('SET', S, cmsgpack.pack(st), 'PX', ttl)
      end
    end
    if replyKey then redis.call('SET', replyKey, cmsgpack.pack(out), 'PX', \#(replyRetentionMilliseconds)) end
    return out
    """#)

    /// How long the reply of an update is kept for a repeated call: well beyond a command
    /// timeout plus a reconnect, short enough that kept replies cost little memory.
    static let replyRetentionMilliseconds = 10_000

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
