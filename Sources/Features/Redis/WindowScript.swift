import Redis

/// The server side of `RedisFeatureStore`: one call processes, in order, every event of one batch
/// that has one key value, against that key's sorted set, and returns every feature value.
///
/// KEYS[1]: the key's window, a sorted set. Member = `time␟payment_id␟token…` (␟ = 0x1F; text is
/// %-escaped so it never contains ␟), score = event time in ms. One token per feature of the key:
/// `-` when the event does not count for that feature (filter false or value missing), else `1`
/// (count, seconds_since_*), the integer value (sum, avg, min, max) or `=value` (distinct).
///
/// ARGV: lateness, retention, evictAfter, ttl (ms), readOnly (0/1), n features, n × (kind, window ms),
/// then per event: time, the store's newest time at this event, payment_id, member.
///
/// Reply: per event, its status (0 stored, 1 duplicate, 2 too late) then two integers per feature
/// (see `RedisFeatureStore.decode`). The rules are the ones of docs/features.md, step for step the
/// same as `KeyWindow`: evict when idle, lateness against the watermark (the highest score),
/// duplicates among equal-time entries, expiry (entries at or before watermark − retention are
/// never read; they are trimmed once per call), read over (t − W, t]. One range read per event,
/// and each member is parsed once per call.
enum WindowScript {
    static let script = RedisScript(#"""
    local key = KEYS[1]
    local lateness = tonumber(ARGV[1])
    local retention = tonumber(ARGV[2])
    local evictAfter = tonumber(ARGV[3])
    local ttl = tonumber(ARGV[4])
    local readOnly = ARGV[5] == '1'
    local nf = tonumber(ARGV[6])
    local kinds, windows = {}, {}
    local horizon = 0
    for f = 1, nf do
      kinds[f] = tonumber(ARGV[5 + 2 * f])
      windows[f] = tonumber(ARGV[6 + 2 * f])
      if windows[f] > horizon then horizon = windows[f] end
    end
    local SEP = string.char(31)
    local function split(member)
      local parts, start = {}, 1
      while true do
        local i = string.find(member, SEP, start, true)
        if not i then
          parts[#parts + 1] = string.sub(member, start)
          return parts
        end
        parts[#parts + 1] = string.sub(member, start, i - 1)
        start = i + 1
      end
    end
    local cache = {}
    local function parse(member)
      local parts = cache[member]
      if not parts then
        parts = split(member)
        parts[1] = tonumber(parts[1])
        cache[member] = parts
      end
      return parts
    end
    local newest = nil
    local top = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
    if #top == 2 then newest = tonumber(top[2]) end
    local evicted = false
    local inserted = false
    local out = {}
    local i = 7 + 2 * nf
    while i <= #ARGV do
      local t = tonumber(ARGV[i])
      local newestAt = tonumber(ARGV[i + 1])
      local pid = ARGV[i + 2]
      local member = ARGV[i + 3]
      i = i + 4
      if newest ~= nil and newest < newestAt - evictAfter then
        if readOnly then evicted = true else redis.call('DEL', key) end
        newest = nil
      end
      -- Everything this event can read, also what the duplicate check needs (equal times).
      -- Entries at or before newest - retention count as expired even before the trim at the end.
      local entries = {}
      if not evicted and newest ~= nil then
        local floor = t - horizon
        if newest - retention > floor then floor = newest - retention end
        for k, m in ipairs(redis.call('ZRANGEBYSCORE', key, '(' .. floor, t)) do entries[k] = parse(m) end
      end
      local status = 0
      if newest ~= nil then
        if t < newest - lateness then
          status = 2
        else
          for _, e in ipairs(entries) do
            if e[1] == t and e[2] == pid then
              status = 1
              break
            end
          end
        end
      end
      if status == 0 then
        entries[#entries + 1] = parse(member)
        if not readOnly then
          redis.call('ZADD', key, t, member)
          inserted = true
          if newest == nil or t > newest then newest = t end
        end
      end
      out[#out + 1] = status
      for f = 1, nf do
        local kind, lo = kinds[f], t - windows[f]
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
            elseif kind == 8 then
              if et < t and (last == nil or et > last) then last = et end
            end
          end
        end
        if kind == 1 or kind == 6 then
          out[#out + 1] = n
          out[#out + 1] = 0
        elseif kind == 2 or kind == 3 then
          out[#out + 1] = sum
          out[#out + 1] = n
        elseif kind == 4 or kind == 5 then
          out[#out + 1] = ext or 0
          out[#out + 1] = ext and 1 or 0
        elseif kind == 7 then
          out[#out + 1] = first and (t - first) or 0
          out[#out + 1] = first and 1 or 0
        else
          out[#out + 1] = last and (t - last) or 0
          out[#out + 1] = last and 1 or 0
        end
      end
    end
    if inserted then
      redis.call('ZREMRANGEBYSCORE', key, '-inf', newest - retention)
      redis.call('PEXPIRE', key, ttl)
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
