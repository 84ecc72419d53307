import FraudCore
import Redis
import Synchronization

/// Sliding windows shared by every engine instance that points at one Redis: Redis keeps each
/// entity's log, every instance computes the windows in a local mirror that replays those logs.
///
/// Per entity (key field + value, e.g. `card_fingerprint:abc`) Redis holds an append-only list of
/// compact entries in arrival order (`LogEntryCodec`, `LogScript`). One `EVALSHA` per batch: for each
/// entity of the batch the script returns what other clients appended since this instance's cursor
/// (usually nothing) and appends this batch's entries. The instance then applies those catch-up
/// entries to its mirror (an `InMemoryFeatureStore`, fed one key field at a time) and runs the batch
/// through the mirror. Every rule of docs/features.md is a deterministic function of an entity's
/// events in arrival order, and the log is that order, so every instance computes what one store
/// fed the log would: the same features as `InMemoryFeatureStore` (the oracle tests check both).
///
/// The log keeps the hash tag `{field:value}`, so an entity lives in one Redis Cluster slot; each
/// list has a TTL of longest window + 2 × lateness (wall clock). A list that is gone (restart,
/// FLUSHALL, expiry) comes back under a new epoch, and the instance drops its mirror windows for
/// that entity and replays the new log: after a Redis restart windows restart empty.
///
/// Calls are serialised per instance: the mirror must apply each entity's entries in log order, and
/// a reply is only known to follow the previous one if the previous one was applied first.
public final class RedisFeatureStore: FeatureStore {
    public let lateness: EventDuration
    public let rates: ExchangeRates
    /// Prepended to every key, before the hash tag.
    public let keyPrefix: String
    private let pool: RedisConnectionPool
    private let mirror: InMemoryFeatureStore
    private let state = Mutex(MirrorState())

    /// Per instance: how far it has read each entity's log, the call whose reply was lost, and the
    /// per-batch scratch reused across batches.
    private struct MirrorState {
        var plan: FeaturePlan?
        var compiled: CompiledPlan?
        var codecs: [LogEntryCodec] = []
        var layout = LogCommandEncoder.KeyLayout()
        var cursors = EntityCursors()
        var unanswered: UnansweredCall?
        var batch = BatchEntities()
        var encoder = LogCommandEncoder()
        var times: [Int64] = []
    }

    /// The last update whose reply did not arrive, as it was sent.
    private struct UnansweredCall {
        var plan: FeaturePlan
        var paymentIDs: [String]
        var times: [Int64]
        /// The whole `EVALSHA`, reply key (token) included.
        var command: [UInt8]
    }

    public init(
        configuration: RedisConfiguration, lateness: EventDuration = .minutes(5), rates: ExchangeRates = .builtIn,
        keyPrefix: String = "waqiti:fw:"
    ) {
        self.lateness = lateness
        self.rates = rates
        self.keyPrefix = keyPrefix
        pool = RedisConnectionPool(configuration: configuration)
        // Capacity eviction would silently drop windows the cursors say are applied: the mirror is
        // bounded by the idle-key rule alone (rule 10), like the cursors.
        mirror = InMemoryFeatureStore(configuration: .init(lateness: lateness, maxKeysPerShard: .max, rates: rates))
    }

    public func process(_ events: [PaymentEvent], plan: FeaturePlan, mode: StoreMode, into out: inout [Double]) async throws -> BatchReport {
        try processSync(events, plan: plan, mode: mode, into: &out)
    }

    /// `process` without the suspension point (the call blocks on the network for one round trip).
    public func processSync(_ events: [PaymentEvent], plan: FeaturePlan, mode: StoreMode, into out: inout [Double]) throws(FeatureStoreError) -> BatchReport {
        try state.withLock { state throws(FeatureStoreError) -> BatchReport in
            try self.run(events, plan: plan, mode: mode, state: &state, into: &out)
        }
    }

    private func run(
        _ events: [PaymentEvent], plan: FeaturePlan, mode: StoreMode, state: inout MirrorState, into out: inout [Double]
    ) throws(FeatureStoreError) -> BatchReport {
        guard !events.isEmpty, plan.count > 0 else {
            out.removeAll(keepingCapacity: true)
            return BatchReport()
        }
        if state.plan != plan { adopt(plan, state: &state) }
        let compiled = state.compiled!
        events.withUnsafeBufferPointer { state.batch.group($0, plan: compiled, rates: rates) }
        state.times.removeAll(keepingCapacity: true)
        for event in events { state.times.append(event.occurredAt.millisecondsSinceEpoch) }

        // An update sent again after its reply was lost goes out exactly as the first time, token
        // included, and gets that reply back: its entries are in the log already, and reading them
        // as catch-up would make each event of the batch see the batch's later events too.
        let command: [UInt8]
        if mode == .update, let last = state.unanswered, last.plan == plan, last.times == state.times,
           last.paymentIDs.elementsEqual(events.lazy.map(\.paymentID)) {
            command = last.command
        } else {
            let call = LogCommandEncoder.Call(
                mode: mode, retention: compiled.retention, ttl: compiled.evictAfter, freshEpoch: Int64.random(in: 1...(1 << 52)),
                replyKey: mode == .update ? "\(keyPrefix)reply:\(Self.newToken())" : nil
            )
            events.withUnsafeBufferPointer { events in
                state.encoder.encode(call, batch: state.batch, events: events, layout: state.layout, codecs: state.codecs, cursors: state.cursors)
            }
            command = state.encoder.bytes
        }
        let reply: RedisReply
        do {
            reply = try pool.withConnection { connection throws(RedisError) in
                try connection.pipeline(encoded: [command], loading: [LogScript.script])[0]
            }
        } catch {
            if error.isUnavailable {
                if mode == .update {
                    state.unanswered = UnansweredCall(plan: plan, paymentIDs: events.map(\.paymentID), times: state.times, command: command)
                }
                throw .unavailable(error.description)
            }
            throw .protocolViolation(error.description)
        }
        // Answered. A read-only batch also forgets a lost update: it has just caught up on that
        // update's entries, so its kept reply would now start behind this instance's cursors.
        state.unanswered = nil
        let logs = try decode(reply, state: state)
        try catchUp(logs: logs, plan: plan, state: &state)
        let report = mirror.processSync(events, plan: plan, mode: mode, onlyGroup: nil, into: &out)
        for (entity, log) in zip(state.batch.entities, logs) where log.epoch != 0 {
            state.cursors.set(group: entity.group, value: entity.value, epoch: log.epoch, end: log.end, seen: entity.newest)
        }
        state.cursors.sweep(batchNewest: state.times.max()!, idleAfter: compiled.evictAfter)
        return report
    }

    /// A new plan: key names follow each key field's storage layout, so a key field whose
    /// features changed gets fresh logs (its mirror windows restart too, as in memory). Cursors are
    /// dropped, so every entity is rebuilt from its log on first use: the mirror may have kept or
    /// restarted its windows, and a log left under an earlier plan may have grown meanwhile.
    private func adopt(_ plan: FeaturePlan, state: inout MirrorState) {
        let compiled = CompiledPlan(plan: plan, lateness: lateness)
        state.plan = plan
        state.compiled = compiled
        state.codecs = compiled.groups.map { LogEntryCodec(key: $0.key, plan: plan) }
        let tags = compiled.groups.map { group in
            String(StableHash.hash(group.storageSignature + "\nv\(LogScript.layoutVersion)") & 0xFFFF_FFFF, radix: 16)
        }
        state.layout = LogCommandEncoder.KeyLayout(prefix: keyPrefix, fields: compiled.groups.map(\.key), tags: tags)
        state.cursors = EntityCursors(groups: compiled.groups.count)
        state.unanswered = nil
    }

    /// One entity's part of the reply.
    private struct EntityLog {
        /// 0 when the log does not exist.
        var epoch: Int64
        var from: Int64
        var end: Int64
        var entries: [[UInt8]]
    }

    private func decode(_ reply: RedisReply, state: MirrorState) throws(FeatureStoreError) -> [EntityLog] {
        let entities = state.batch.entities
        if let message = reply.errorMessage {
            if message.hasPrefix("LOADING") || message.hasPrefix("BUSY") { throw .unavailable("Redis replied: \(message)") }
            throw .protocolViolation("log script failed: \(message)")
        }
        guard let values = reply.array, values.count == entities.count else {
            throw .protocolViolation("log script returned \(reply.array.map { "\($0.count) values" } ?? "\(reply)") for \(entities.count) entities")
        }
        var logs: [EntityLog] = []
        logs.reserveCapacity(entities.count)
        for (entity, value) in zip(entities, values) {
            let key = { state.layout.name(group: entity.group, value: entity.value) }
            switch value {
            case .integer(let end):
                // Nothing new: the epoch and start are the cursor's.
                guard let cursor = state.cursors[entity.group, entity.value] else {
                    throw .protocolViolation("log script answered \(end) for \(key()), which this instance has no cursor for")
                }
                logs.append(EntityLog(epoch: cursor.epoch, from: cursor.end, end: end, entries: []))
            case .array(let items):
                guard items.count >= 3, let epoch = items[0].integer, let from = items[1].integer, let end = items[2].integer else {
                    throw .protocolViolation("log script reply for \(key()) is malformed: \(items.prefix(3))")
                }
                var entries: [[UInt8]] = []
                entries.reserveCapacity(items.count - 3)
                for item in items[3...] {
                    guard case .bulk(let bytes) = item else { throw .protocolViolation("log script returned a non-string entry: \(item)") }
                    entries.append(bytes)
                }
                logs.append(EntityLog(epoch: epoch, from: from, end: end, entries: entries))
            default:
                throw .protocolViolation("log script reply for \(key()) is \(value)")
            }
        }
        return logs
    }

    /// Brings the mirror up to each entity's log position before this batch: an entity whose log
    /// restarted (new epoch), or that this instance has no cursor for, is dropped from the mirror and
    /// rebuilt from its whole retained log; otherwise the entries since the cursor are applied.
    /// A gap between the cursor and `from` holds only trimmed entries, expired for every reader.
    private func catchUp(logs: [EntityLog], plan: FeaturePlan, state: inout MirrorState) throws(FeatureStoreError) {
        let groupCount = state.codecs.count
        var restarted: [[String]] = []
        var replay: [[PaymentEvent]] = []
        for (entity, log) in zip(state.batch.entities, logs) {
            let cursor = state.cursors[entity.group, entity.value]
            if cursor == nil || cursor!.epoch != log.epoch || log.from < cursor!.end {
                if restarted.isEmpty { restarted = Array(repeating: [], count: groupCount) }
                restarted[entity.group].append(entity.value)
                if log.epoch == 0 { state.cursors.remove(group: entity.group, value: entity.value) }
            }
            guard !log.entries.isEmpty else { continue }
            if replay.isEmpty { replay = Array(repeating: [], count: groupCount) }
            let codec = state.codecs[entity.group]
            for entry in log.entries {
                guard let event = codec.decode(entry, keyValue: entity.value) else {
                    throw .protocolViolation("malformed log entry in \(state.layout.name(group: entity.group, value: entity.value)): \(String(decoding: entry.prefix(120), as: UTF8.self).debugDescription)")
                }
                replay[entity.group].append(event)
            }
        }
        var discarded: [Double] = []
        for g in 0..<groupCount {
            if !restarted.isEmpty, !restarted[g].isEmpty { mirror.forget(restarted[g], group: g, plan: plan) }
            if !replay.isEmpty, !replay[g].isEmpty { _ = mirror.processSync(replay[g], plan: plan, mode: .update, onlyGroup: g, into: &discarded) }
        }
    }

    /// Names a call's kept reply: 64 random bits, as hex.
    static func newToken() -> String {
        String(UInt64.random(in: .min ... .max), radix: 16)
    }
}
