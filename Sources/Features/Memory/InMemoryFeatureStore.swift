import CPrefetch
import Dispatch
import FraudCore
import Synchronization

/// The embedded feature store: exact sliding windows in ring buffers, in this process.
///
/// Keys are spread over `shardCount` shards by hash, each behind its own lock, so the pipeline's
/// workers can call `process` concurrently. Within a batch every key's events are applied in batch
/// order, so results do not depend on the shard count. Semantics: docs/features.md.
public final class InMemoryFeatureStore: FeatureStore {
    /// Tunables; the defaults suit one engine instance.
    public struct Configuration: Sendable {
        /// How far behind a key's newest event an event may be and still be added (default 5 min).
        public var lateness: EventDuration
        public var shardCount: Int
        /// Key bound per shard; past it the stalest keys are dropped (counted in `Statistics`).
        public var maxKeysPerShard: Int
        public var rates: ExchangeRates
        /// Threads one batch's shards are applied on: the caller's and `parallelism − 1` more.
        /// Each shard goes to one thread and keeps batch order, so results do not depend on it;
        /// more than 1 pays only where a core would otherwise idle (a backtest), not in `serve`.
        public var parallelism: Int

        public init(
            lateness: EventDuration = .minutes(5), shardCount: Int = 16, maxKeysPerShard: Int = 1 << 20,
            rates: ExchangeRates = .builtIn, parallelism: Int = 1
        ) {
            self.lateness = lateness
            self.shardCount = max(1, shardCount)
            self.maxKeysPerShard = max(1, maxKeysPerShard)
            self.rates = rates
            self.parallelism = max(1, parallelism)
        }
    }

    /// A snapshot for metrics and the memory benchmark.
    public struct Statistics: Sendable, Equatable {
        public var keys: Int
        public var entries: Int
        /// Heap bytes held by entry buffers (their capacity), excluding dictionary overhead.
        public var entryBytes: Int
        /// Keys dropped because a shard hit `maxKeysPerShard` (not exact; should stay 0).
        public var capacityEvictions: Int
    }

    public let configuration: Configuration
    private let shards: [ShardBox]
    private let compiled = Mutex<CompiledPlan?>(nil)
    private let clock = StoreClock()

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
        shards = (0..<configuration.shardCount).map { _ in ShardBox() }
    }

    public convenience init(lateness: EventDuration = .minutes(5), rates: ExchangeRates = .builtIn, shardCount: Int = 16) {
        self.init(configuration: Configuration(lateness: lateness, shardCount: shardCount, rates: rates))
    }

    public func process(_ events: [PaymentEvent], plan: FeaturePlan, mode: StoreMode, into out: inout [Double]) async throws -> BatchReport {
        processSync(events, plan: plan, mode: mode, into: &out)
    }

    /// `process` without the suspension point, for callers that are not async (benchmarks, replay).
    public func processSync(_ events: [PaymentEvent], plan: FeaturePlan, mode: StoreMode, into out: inout [Double]) -> BatchReport {
        processSync(events, plan: plan, mode: mode, onlyGroup: nil, into: &out)
    }

    /// `onlyGroup`: apply the events to the windows of that key field only (the plan's group index,
    /// `CompiledPlan.groups`); the other key fields neither store nor read them. The Redis store's
    /// mirror replays each entity's log this way.
    func processSync(_ events: [PaymentEvent], plan: FeaturePlan, mode: StoreMode, onlyGroup: Int?, into out: inout [Double]) -> BatchReport {
        let layout = compiledPlan(for: plan)
        let width = plan.count
        Self.fillWithNaN(&out, count: events.count * width)
        guard !events.isEmpty, width > 0 else { return BatchReport() }

        let facts = layout.facts(of: events, rates: configuration.rates, hashing: true)
        let (before, newestAt) = clock.advance(over: facts.times, mode: mode)
        var flags: [UInt8] = []
        let groupCount = layout.groups.count
        let maxKeys = configuration.maxKeysPerShard
        out.withUnsafeMutableBufferPointer { buffer in
            // The (event, key) pairs grouped by shard, each shard's in batch order: a counting sort
            // into one array (`opsByShard[s]` is `ops[shardStarts[s] ..< shardStarts[s + 1]]`).
            var shardOf = [Int32](repeating: -1, count: events.count * groupCount)
            var shardStarts = [Int](repeating: 0, count: shards.count + 1)
            for i in events.indices {
                for g in 0..<groupCount where onlyGroup == nil || onlyGroup == g {
                    guard facts.keys[i * groupCount + g] != nil else {
                        layout.groups[g].writeMissingKey(row: i * width, into: buffer)
                        continue
                    }
                    let shard = shards.count == 1 ? 0 : Int(facts.keyHashes[i * groupCount + g] % UInt64(shards.count))
                    shardOf[i * groupCount + g] = Int32(shard)
                    shardStarts[shard + 1] += 1
                }
            }
            for s in shards.indices { shardStarts[s + 1] += shardStarts[s] }
            var ops = [Int32](repeating: 0, count: shardStarts[shards.count])
            var next = shardStarts
            for (op, shard) in shardOf.enumerated() where shard >= 0 {
                ops[next[Int(shard)]] = Int32(op)
                next[Int(shard)] += 1
            }
            let opsByShard = shards.indices.map { ops[shardStarts[$0] ..< shardStarts[$0 + 1]] }
            let busy = opsByShard.indices.filter { !opsByShard[$0].isEmpty }
            let workers = min(configuration.parallelism, busy.count)
            // One flag byte per event and worker: two workers may hold keys of the same event.
            flags = [UInt8](repeating: 0, count: events.count * max(1, workers))
            flags.withUnsafeMutableBufferPointer { flags in
                let sinks = ShardSinks(out: buffer, flags: flags)
                let eventCount = events.count, opsByShard = opsByShard
                let apply = { @Sendable (worker: Int) in
                    let mine = UnsafeMutableBufferPointer(rebasing: sinks.flags[worker * eventCount ..< (worker + 1) * eventCount])
                    for s in stride(from: worker, to: busy.count, by: max(1, workers)) {
                        self.applyShard(busy[s], ops: opsByShard[busy[s]], before: before, newestAt: newestAt, facts: facts,
                                        layout: layout, mode: mode, maxKeys: maxKeys, out: sinks.out, width: width, flags: mine)
                    }
                }
                if workers <= 1 { apply(0) } else { DispatchQueue.concurrentPerform(iterations: workers, execute: apply) }
            }
        }
        for worker in 1 ..< max(1, flags.count / events.count) {
            for i in events.indices { flags[i] |= flags[worker * events.count + i] }
        }
        var report = BatchReport()
        for flag in flags.prefix(events.count) {
            if flag & 1 != 0 { report.duplicates += 1 }
            if flag & 2 != 0 { report.tooLate += 1 }
        }
        return report
    }

    /// Makes `out` `count` NaNs, in place when it holds that many already (the engine passes the
    /// previous batch's rows back). Appending NaNs to an array went through the generic
    /// element-by-element sequence copy; a fresh array of NaNs is one fill.
    private static func fillWithNaN(_ out: inout [Double], count: Int) {
        guard out.count >= count else {
            out = [Double](repeating: .nan, count: count)
            return
        }
        if out.count > count { out.removeLast(out.count - count) }
        out.withUnsafeMutableBufferPointer { $0.update(repeating: .nan) }
    }

    /// Applies one shard's (event, key) pairs in batch order under the shard's lock, noting
    /// duplicates (bit 0) and too-late events (bit 1) in `flags`.
    ///
    /// The pairs reach their key tables, layouts and windows through unretained references: the
    /// shard (under its lock) and the plan keep them alive for the whole call. Retaining and
    /// releasing them per pair was 8% of the store's samples in `perf record` of `waqiti replay`
    /// (300,000 events, default rules and model), and dropping it took `waqiti-bench features`'
    /// 1 × count row from 42.0 to 33.7 ms (bench/results/features.md, session 14).
    private func applyShard(
        _ s: Int, ops: ArraySlice<Int32>, before: Int64, newestAt: [Int64], facts: BatchFacts, layout: CompiledPlan, mode: StoreMode,
        maxKeys: Int, out buffer: UnsafeMutableBufferPointer<Double>, width: Int, flags: UnsafeMutableBufferPointer<UInt8>
    ) {
        let groupCount = layout.groups.count
        shards[s].state.withLock { shard in
            if shard.tables.count != groupCount { shard = WindowShard(groupCount: groupCount) }
            if shard.insertsSinceSweep >= max(4096, shard.keyCount) {
                shard.sweep(storeNewest: before, plan: layout, maxKeys: maxKeys)
            }
            var inserted = 0, warmed: UInt64 = 0
            withUnsafeTemporaryAllocation(of: GroupRefs.self, capacity: groupCount) { groups in
                for g in 0..<groupCount {
                    groups[g] = GroupRefs(layout: .passUnretained(layout.groups[g]), table: .passUnretained(shard.tables[g]))
                }
                var start = ops.startIndex
                while start < ops.endIndex {
                    let run = ops[start..<min(start + Self.warmRun, ops.endIndex)]
                    warmed &+= warm(run, facts: facts, groups: groups)
                    for op in run {
                        let i = Int(op) / groupCount, g = Int(op) % groupCount
                        let outcome = groups[g].layout._withUnsafeGuaranteedRef { group in
                            groups[g].table._withUnsafeGuaranteedRef { table in
                                apply(i, group: g, layout: group, newestAt: newestAt[i], facts: facts, plan: layout, mode: mode,
                                      table: table, out: buffer, row: i * width)
                            }
                        }
                        switch outcome {
                        case .inserted: inserted += 1
                        case .duplicate: flags[i] |= 1
                        case .tooLate: flags[i] |= 2
                        }
                    }
                    start += run.count
                }
            }
            shard.insertsSinceSweep += inserted
            shard.warmed &+= warmed
        }
    }

    /// One key field's layout and this shard's table for it, unretained: the plan and the shard hold
    /// them while a batch is applied.
    private struct GroupRefs {
        var layout: Unmanaged<GroupLayout>
        var table: Unmanaged<KeyTable>
    }

    /// (event, key) pairs whose memory is loaded together before they are applied: enough to keep
    /// the core's outstanding cache misses busy, few enough that the lines are still cached when used.
    static let warmRun = 32

    /// Brings into the cache, for a run of (event, key) pairs, the key-table slots, then the
    /// windows' headers, then their buffers, then what those point to. Each step issues
    /// prefetches (or, at the last, loads) that are independent across the run, so their cache
    /// misses overlap instead of queuing one after another; a prefetch, unlike a load, does not hold
    /// up the core while it waits, so one step covers the whole run. Changes no state; returns the
    /// words it loaded, for the caller to keep (so the optimizer keeps the loads).
    private func warm(
        _ run: ArraySlice<Int32>, facts: BatchFacts, groups: UnsafeMutableBufferPointer<GroupRefs>
    ) -> UInt64 {
        let groupCount = facts.groupCount
        return withUnsafeTemporaryAllocation(of: UnsafeRawPointer?.self, capacity: run.count) { windows in
            for op in run {
                let hash = facts.keyHashes[Int(op)]
                waqiti_prefetch(groups[Int(op) % groupCount].table._withUnsafeGuaranteedRef { $0.homeSlotAddress(hash: hash) })
            }
            for (n, op) in zip(windows.indices, run) {
                let hash = facts.keyHashes[Int(op)]
                windows[n] = groups[Int(op) % groupCount].table._withUnsafeGuaranteedRef { $0.likelyWindowAddress(hash: hash) }
                if let window = windows[n] { KeyWindow.prefetchHeader(at: window) }
            }
            for n in 0..<run.count {
                guard let window = windows[n] else { continue }
                Unmanaged<KeyWindow>.fromOpaque(window)._withUnsafeGuaranteedRef { $0.prefetchBuffers() }
            }
            var sum: Int64 = 0
            for (n, op) in zip(windows.indices, run) {
                guard let window = windows[n] else { continue }
                let g = Int(op) % groupCount
                sum &+= groups[g].layout._withUnsafeGuaranteedRef { layout in
                    Unmanaged<KeyWindow>.fromOpaque(window)._withUnsafeGuaranteedRef {
                        $0.warmBuffers(Int(op) / groupCount, facts: facts, layout: layout)
                    }
                }
            }
            return UInt64(bitPattern: sum)
        }
    }

    private func apply(
        _ i: Int, group g: Int, layout: GroupLayout, newestAt: Int64, facts: BatchFacts, plan: CompiledPlan, mode: StoreMode,
        table: KeyTable, out: UnsafeMutableBufferPointer<Double>, row: Int
    ) -> InsertOutcome {
        let index = i * facts.groupCount + g
        let hash = facts.keyHashes[index]
        let found = facts.keys.withUnsafeBufferPointer { keys in table.unretainedWindow(keys[index]!, hash: hash) }
        var window = found?.window
        // A key idle past the eviction horizon starts afresh, whether or not a sweep dropped it yet.
        if let w = window, w._withUnsafeGuaranteedRef({ $0.newest }) < newestAt &- plan.evictAfter { window = nil }
        let t = facts.times[i]
        switch mode {
        case .update:
            let w: Unmanaged<KeyWindow>
            if let window { w = window } else {
                let fresh = KeyWindow(key: facts.keys[index]!, layout: layout)
                if let slot = found?.slot { table[slot] = fresh } else { table.insert(fresh, hash: hash) }
                // The table holds it from here on.
                w = Unmanaged.passUnretained(fresh)
            }
            return w._withUnsafeGuaranteedRef { w in
                let (outcome, end) = w.insert(i, facts: facts, layout: layout, lateness: plan.lateness, retention: plan.retention)
                w.read(at: t, layout: layout, facts: facts, virtual: nil, end: end, into: out, row: row)
                return outcome
            }
        case .readOnly:
            let read = { (w: KeyWindow) -> InsertOutcome in
                var outcome = InsertOutcome.inserted
                if w.count > 0, t < w.newest - plan.lateness {
                    outcome = .tooLate
                } else if w.isDuplicate(i, facts: facts) {
                    outcome = .duplicate
                }
                w.read(at: t, layout: layout, facts: facts, virtual: outcome == .inserted ? i : nil, into: out, row: row)
                return outcome
            }
            if let window { return window._withUnsafeGuaranteedRef(read) }
            return read(KeyWindow(key: facts.keys[index]!, layout: layout))
        }
    }

    /// Compiles the plan once. A different plan (a rules reload) keeps the windows of every key
    /// field whose features did not change (same `GroupLayout.storageSignature`) and starts the
    /// others afresh: windows store only the columns their plan needs.
    private func compiledPlan(for plan: FeaturePlan) -> CompiledPlan {
        compiled.withLock { current in
            if let current, current.plan == plan { return current }
            let fresh = CompiledPlan(plan: plan, lateness: configuration.lateness)
            let previous = current?.groups ?? []
            for shard in shards {
                shard.state.withLock { state in
                    var next = WindowShard(groupCount: fresh.groups.count)
                    for (g, group) in fresh.groups.enumerated() {
                        guard let old = previous.firstIndex(where: { $0.storageSignature == group.storageSignature }),
                              old < state.tables.count else { continue }
                        next.tables[g] = state.tables[old]
                        // A shorter horizon expires sooner: drop what the new plan would never have kept.
                        for window in next.tables[g].values { window.expire(retention: fresh.retention, layout: group) }
                    }
                    next.capacityEvictions = state.capacityEvictions
                    state = next
                }
            }
            current = fresh
            return fresh
        }
    }

    /// Drops the windows of `keys` of key field `group` (an index of `CompiledPlan.groups` of `plan`),
    /// so their next events start them afresh. A key the store does not hold costs one lookup.
    func forget(_ keys: [String], group: Int, plan: FeaturePlan) {
        _ = compiledPlan(for: plan)
        var byShard: [Int: [String]] = [:]
        for key in keys { byShard[Int(seededHash(key) % UInt64(shards.count)), default: []].append(key) }
        for (s, keys) in byShard {
            shards[s].state.withLock { shard in
                guard group < shard.tables.count else { return }
                for key in keys { shard.tables[group].remove(key, hash: seededHash(key)) }
            }
        }
    }

    public func statistics() -> Statistics {
        var stats = Statistics(keys: 0, entries: 0, entryBytes: 0, capacityEvictions: 0)
        for shard in shards {
            shard.state.withLock { state in
                stats.capacityEvictions += state.capacityEvictions
                for table in state.tables {
                    stats.keys += table.count
                    for window in table.values {
                        stats.entries += window.count
                        stats.entryBytes += window.entryBytes
                    }
                }
            }
        }
        return stats
    }
}

/// Where a batch's shard workers write: the feature rows and one flag byte per event per worker.
/// Unchecked because the buffers are shared across threads: each (event, key) pair belongs to one
/// shard, each shard to one worker, and a pair writes only its key field's columns of its event's
/// row and its worker's flag bytes, so no two threads write the same memory.
private struct ShardSinks: @unchecked Sendable {
    let out: UnsafeMutableBufferPointer<Double>
    let flags: UnsafeMutableBufferPointer<UInt8>
}

private final class ShardBox: Sendable {
    let state = Mutex(WindowShard(groupCount: 0))
}
