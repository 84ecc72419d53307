/// One shard of the in-memory store: the key windows of the keys that hash to it, one table per
/// key field of the plan. Always used under its shard's lock; its tables are its own (`KeyTable` is
/// a class, never shared between shards).
struct WindowShard: Sendable {
    var tables: [KeyTable]
    var insertsSinceSweep = 0
    var capacityEvictions = 0
    /// Where cache warming (`InMemoryFeatureStore.warm`) leaves the words it loaded, so the
    /// optimizer keeps the loads. Meaningless.
    var warmed: UInt64 = 0

    init(groupCount: Int) {
        tables = (0..<groupCount).map { _ in KeyTable() }
    }

    var keyCount: Int { tables.reduce(0) { $0 + $1.count } }

    /// Drops keys idle for longer than the plan's eviction horizon (`CompiledPlan.evictAfter`), then,
    /// if the shard still holds more than `maxKeys`, the keys with the oldest newest events.
    ///
    /// `storeNewest` must be the store's newest time before the batch: a key dropped here would
    /// have been treated as evicted by every event of the batch anyway, so sweeping changes no result.
    mutating func sweep(storeNewest: Int64, plan: CompiledPlan, maxKeys: Int) {
        insertsSinceSweep = 0
        let cutoff = storeNewest &- plan.evictAfter
        for g in tables.indices {
            tables[g].removeAll { $0.newest < cutoff }
        }
        let over = keyCount - maxKeys
        guard over > 0 else { return }
        // Capacity eviction is not exact: it changes what later events of those keys see. It only
        // happens when the table bound is set below the live key count; it is counted and reported.
        var candidates: [(newest: Int64, window: KeyWindow)] = []
        for table in tables {
            for window in table.values { candidates.append((window.newest, window)) }
        }
        candidates.sort { $0.newest < $1.newest }
        let evicted = Set(candidates.prefix(over).map { ObjectIdentifier($0.window) })
        for g in tables.indices { tables[g].removeAll { evicted.contains(ObjectIdentifier($0)) } }
        capacityEvictions += evicted.count
    }
}
