import FraudCore
import Redis
import Synchronization

/// Sliding windows shared by every engine instance that points at one Redis: Redis keeps each
/// entity's log, every instance computes the windows in a local mirror that replays those logs.
///
/// Per entity (key field + value, e.g. `card_fingerprint:abc`) Redis holds an append-only list of
/// compact entries in arrival order (`LogEntryCodec`, `LogScript`). An update is one `MULTI` block
/// for the whole batch: per entity `RPUSHX` of its entries and `LINDEX 0` of the header, which say
/// where the entries landed and whether anything was appended by others since this instance's
/// cursor (usually not). Entities new to this instance go in the same round trip as one
/// `LogScript` call (it creates a missing list and returns what a cold instance must read), and
/// so does the trim and TTL upkeep the cached headers say is due (`LogScript.maintenance`). Only
/// what that cannot do takes a second round trip, for those entities alone: a known entity's list
/// that turned out missing (`LogScript` creates it), the catch-up read of others' entries
/// (`LogScript.read`); a third only for a list that vanished between the two. The instance then applies the catch-up entries to its mirror (an
/// `InMemoryFeatureStore`, fed one key field at a time) and runs the batch through the mirror.
/// Every rule of docs/features.md is a deterministic function of an entity's events in arrival
/// order, and the log is that order, so every instance computes what one store fed the log would:
/// the same features as `InMemoryFeatureStore` (the oracle tests check both).
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
    /// Where `process` blocks on the network: a thread of the store's own. Calls are serialised
    /// anyway, so one thread is all they can use; callers wait for it as suspended tasks.
    private let io = BlockingExecutor(name: "redis-features")
    /// Calls queued when a call finds Redis unavailable fail at once (`RedisOutageMark`).
    private let outage = RedisOutageMark()
    private let mirror: InMemoryFeatureStore
    private let state = Mutex(MirrorState())

    /// Per instance: how far it has read each entity's log, the call whose reply was lost, the
    /// answers kept for retries, and the per-batch scratch reused across batches.
    private struct MirrorState {
        var plan: FeaturePlan?
        var compiled: CompiledPlan?
        var codecs: [LogEntryCodec] = []
        var layout = LogCommandEncoder.KeyLayout()
        var cursors = EntityCursors()
        var unanswered: UnansweredCall?
        /// Lost calls that a later call resolved before their retry came, oldest first.
        var answered: [AnsweredCall] = []
        var batch = BatchEntities()
        var encoder = LogCommandEncoder()
        var times: [Int64] = []
        /// Per entity of the batch, its cursor as the batch found it.
        var known: [EntityCursors.Cursor?] = []
        /// Reusable command buffers: the `MULTI` block, `LogScript`, `LogScript.read`, `LogScript.maintenance`.
        var buffers: [[UInt8]] = [[], [], [], []]
        /// The Redis server's run id as the last batch found it (`RedisConnection.serverRunID`).
        var serverRunID: String?
        /// Tests: see `setAfterRoundTrip`.
        var afterRoundTrip: (@Sendable (Int) throws(FeatureStoreError) -> Void)?
    }

    /// Tests: `hook` is called after each round trip of an update that is not a recovery, with
    /// its number (1, 2, 3), before its replies are used; it may run other instances (what they do
    /// then falls between this instance's round trips) or throw (a reply lost after the server ran
    /// the commands).
    func setAfterRoundTrip(_ hook: (@Sendable (Int) throws(FeatureStoreError) -> Void)?) {
        state.withLock { $0.afterRoundTrip = hook }
    }

    /// The last update that failed as unavailable after it may have reached Redis. Its events are
    /// kept (the caller's array, not a copy) because another call may have to resolve it.
    private struct UnansweredCall {
        var plan: FeaturePlan
        var events: [PaymentEvent]
    }

    /// A lost call resolved by a later one, with the values it got where it stands in the logs.
    private struct AnsweredCall {
        var plan: FeaturePlan
        var events: [PaymentEvent]
        var values: [Double]
        var report: BatchReport
    }

    /// How many resolved calls wait for their retry. The engine retries at once, so one is the
    /// usual case; a call never retried (the engine decided it on local windows) leaves after this
    /// many later ones.
    private static let answeredLimit = 4

    /// Whether `events` is the batch `lost` again (the engine's retry sends the same events). Payment
    /// id and time are what make an event a redelivery (docs/features.md, rule 4).
    private static func isRetry(_ events: [PaymentEvent], of lost: [PaymentEvent]) -> Bool {
        events.count == lost.count
            && zip(events, lost).allSatisfy { $0.occurredAt == $1.occurredAt && $0.paymentID == $1.paymentID }
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

    deinit { io.shutdown() }

    /// `processSync` on the store's own thread. A Redis that stops answering costs a call up to
    /// the connect or command timeout, and the calls queued behind it wait for the lock: on Swift's
    /// cooperative pool (as many threads as cores) a few such calls would stop every task of the
    /// process, health checks and HTTP scoring on local windows included. The calls that were
    /// queued when one found Redis unavailable are not sent: they fail at once as unavailable
    /// (`RedisOutageMark`), and none of their events reached Redis.
    public func process(_ events: [PaymentEvent], plan: FeaturePlan, mode: StoreMode, into out: inout [Double]) async throws -> BatchReport {
        let rows = RowBuffer(taking: &out)
        defer { out = rows.take() }
        let queuedAt = ContinuousClock.now
        return try await io.run { () throws(FeatureStoreError) -> BatchReport in
            try self.outage.run(
                queuedAt: queuedAt, refused: { .unavailable($0.description) },
                unavailableReason: { if case .unavailable(let reason) = $0 { reason } else { nil } }
            ) { () throws(FeatureStoreError) in
                try self.processSync(events, plan: plan, mode: mode, into: &rows.values)
            }
        }
    }

    /// Whether Redis answers now (`PING`), on the store's own thread: while the engine is
    /// degraded no batch uses that thread, and a connect to an unreachable host blocks it for up
    /// to the connect timeout (`RecoveryProbe`).
    public func ping() async -> Bool {
        (try? await io.run { [pool] () throws(RedisError) in try pool.ping() }) != nil
    }

    /// The caller's row buffer, moved (not copied) to the thread that fills it and back.
    private final class RowBuffer: @unchecked Sendable {
        var values: [Double]

        init(taking out: inout [Double]) {
            values = out
            out = []
        }

        func take() -> [Double] {
            defer { values = [] }
            return values
        }
    }

    /// `process` without the suspension point (the call blocks on the network for its round trips:
    /// one, unless some entities need a catch-up read or lost their list).
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
        // An update sent again after its reply was lost (or after a failure between its round trips)
        // may be in the log already: it goes as a recovery, which appends only what is not there,
        // else each event of the batch would read the batch's later events too, as catch-up. That
        // needs the cursors where the lost call left them, so a lost call is resolved before any
        // other call of this instance runs: that call's catch-up would read the lost entries as
        // others' and move the cursors past them, and the retry would append them a second time.
        if let lost = state.unanswered, !(mode == .update && Self.isRetry(events, of: lost.events)) {
            try resolve(lost, state: &state)
        }
        var recovering = state.unanswered != nil
        if mode == .update, !state.answered.isEmpty, let k = state.answered.firstIndex(where: { Self.isRetry(events, of: $0.events) }) {
            let answer = state.answered.remove(at: k)
            if answer.plan == plan {
                out = answer.values
                return answer.report
            }
            // Rules reloaded in between: the entries are in the logs the two plans share, not in
            // the others. The new plan has dropped the cursors, so the recovery looks from each log's base.
            recovering = true
        }
        return try execute(events, plan: plan, mode: mode, recovering: recovering, state: &state, into: &out)
    }

    /// Sends a lost call again as a recovery, for a call that is not its retry, and keeps its
    /// values for the retry: they are what the batch reads where it stands in the logs.
    private func resolve(_ lost: UnansweredCall, state: inout MirrorState) throws(FeatureStoreError) {
        var values: [Double] = []
        let report: BatchReport
        do {
            report = try execute(lost.events, plan: lost.plan, mode: .update, recovering: true, state: &state, into: &values)
        } catch {
            // Still unavailable: the lost call stays unanswered and the caller's call fails too,
            // as it would on its own. A protocol violation may have left the entries in the log or
            // not; the next call catches up on them like on another instance's.
            if case .protocolViolation = error { state.unanswered = nil }
            throw error
        }
        if state.answered.count == Self.answeredLimit { state.answered.removeFirst() }
        state.answered.append(AnsweredCall(plan: lost.plan, events: lost.events, values: values, report: report))
    }

    private func execute(
        _ events: [PaymentEvent], plan: FeaturePlan, mode: StoreMode, recovering: Bool, state: inout MirrorState, into out: inout [Double]
    ) throws(FeatureStoreError) -> BatchReport {
        if state.plan != plan { adopt(plan, state: &state) }
        let compiled = state.compiled!
        events.withUnsafeBufferPointer { state.batch.group($0, plan: compiled, rates: rates) }
        state.times.removeAll(keepingCapacity: true)
        for event in events { state.times.append(event.occurredAt.millisecondsSinceEpoch) }
        try dropCursorsIfServerChanged(&state)
        state.known.removeAll(keepingCapacity: true)
        for entity in state.batch.entities { state.known.append(state.cursors[entity.group, entity.value]) }

        let logs: [EntityLog]
        do {
            logs = try events.withUnsafeBufferPointer { events throws(FeatureStoreError) in
                if mode == .update && !recovering { return try append(events, state: &state) }
                let all = Array(0..<state.batch.count)
                let replies = try send([encodeScript(recovering ? .recover : .readOnly, all, events: events, state: &state)], replies: [1])
                return try decodeScript(replies[0], indices: all, state: state)
            }
        } catch {
            if mode == .update, case .unavailable = error {
                state.unanswered = UnansweredCall(plan: plan, events: events)
            }
            throw error
        }
        state.unanswered = nil
        try catchUp(logs: logs, plan: plan, state: &state)
        let report = mirror.processSync(events, plan: plan, mode: mode, onlyGroup: nil, into: &out)
        for (entity, log) in zip(state.batch.entities, logs) where log.epoch != 0 {
            state.cursors.set(
                group: entity.group, value: entity.value, epoch: log.epoch, end: log.end, seen: entity.newest, mark: log.mark, deadline: log.deadline
            )
        }
        state.cursors.sweep(batchNewest: state.times.max()!, idleAfter: compiled.evictAfter)
        return report
    }

    /// An update's round trips. The first carries the whole batch: one `MULTI` block (append, read
    /// the header) for the entities this instance has a cursor for, the upkeep their cached headers
    /// say is due, and `LogScript` for the others (new to this instance: it creates a missing list
    /// and returns what a cold instance must read). A second one only for entities that need it:
    /// `LogScript` for a list that was missing after all (expired, Redis restarted), `LogScript.read`
    /// for what others appended before this batch's entries. A third only for a list that vanished
    /// between the first two.
    private func append(_ events: UnsafeBufferPointer<PaymentEvent>, state: inout MirrorState) throws(FeatureStoreError) -> [EntityLog] {
        let compiled = state.compiled!
        let entities = state.batch.entities
        let now = WallClock.now().millisecondsSinceEpoch
        var withCursor: [Int] = [], fresh: [Int] = []
        var upkeep: [LogCommandEncoder.MaintenanceRequest] = []
        for (e, entity) in entities.enumerated() {
            guard let cursor = state.known[e] else {
                fresh.append(e)
                continue
            }
            withCursor.append(e)
            if Self.due(newest: entity.newest, mark: cursor.mark, deadline: cursor.deadline, now: now, compiled: compiled) {
                upkeep.append(.init(entity: e, epoch: cursor.epoch))
            }
        }
        var blobs: [[UInt8]] = []
        var counts: [Int] = []
        let block = LogCommandEncoder.appendReplies(entities: withCursor.count)
        if !withCursor.isEmpty {
            state.encoder.encodeAppend(
                batch: state.batch, indices: withCursor, events: events, layout: state.layout, codecs: state.codecs, into: &state.buffers[0]
            )
            blobs.append(state.buffers[0])
            counts.append(block)
        }
        if !upkeep.isEmpty {
            LogCommandEncoder.encodeMaintenance(
                upkeep, retention: compiled.retention, ttl: compiled.evictAfter, batch: state.batch, layout: state.layout, into: &state.buffers[3]
            )
            blobs.append(state.buffers[3])
            counts.append(1)
        }
        if !fresh.isEmpty {
            blobs.append(encodeScript(.update, fresh, events: events, state: &state))
            counts.append(1)
        }
        var replies = try send(blobs, replies: counts)
        try state.afterRoundTrip?(1)

        var logs = [EntityLog](repeating: EntityLog(epoch: 0, from: 0, end: 0, mark: 0, deadline: 0, entries: []), count: entities.count)
        var missing: [Int] = []
        var reads: [LogCommandEncoder.ReadRequest] = []
        if !withCursor.isEmpty {
            for reply in replies.prefix(block) { try Self.check(reply, "the MULTI block") }
            guard let exec = replies[block - 1].array, exec.count == 2 * withCursor.count else {
                throw .protocolViolation("EXEC answered \(replies[block - 1]) for \(withCursor.count) entities")
            }
            for (k, e) in withCursor.enumerated() {
                let entity = entities[e]
                guard case .integer(let length) = exec[2 * k] else {
                    throw .protocolViolation("RPUSHX \(state.layout.name(group: entity.group, value: entity.value)) answered \(exec[2 * k])")
                }
                guard length > 0 else {
                    // The list is gone (expired, Redis restarted): nothing was appended.
                    missing.append(e)
                    continue
                }
                guard case .bulk(let bytes) = exec[2 * k + 1], let header = Self.header(bytes) else {
                    throw .protocolViolation("LINDEX \(state.layout.name(group: entity.group, value: entity.value)) 0 answered \(exec[2 * k + 1])")
                }
                let end = header.base + length - 1
                let before = end - Int64(entity.count)
                var from = header.base
                if let cursor = state.known[e], cursor.epoch == header.epoch, cursor.end >= header.base { from = cursor.end }
                // A cursor past the log's end (a failover to a replica that missed the tail) restarts.
                if from > before { from = header.base }
                logs[e] = EntityLog(epoch: header.epoch, from: from, end: end, mark: header.mark, deadline: header.deadline, entries: [])
                if from < before { reads.append(.init(entity: e, epoch: header.epoch, from: from, before: before)) }
            }
        }
        var r = withCursor.isEmpty ? 0 : block
        if !upkeep.isEmpty {
            try applyUpkeep(replies[r], upkeep, to: &logs)
            r += 1
        }
        if !fresh.isEmpty {
            for (e, log) in zip(fresh, try decodeScript(replies[r], indices: fresh, state: state)) { logs[e] = log }
        }
        guard !missing.isEmpty || !reads.isEmpty else { return logs }

        // The second round trip.
        blobs.removeAll()
        if !missing.isEmpty { blobs.append(encodeScript(.update, missing, events: events, state: &state)) }
        if !reads.isEmpty {
            LogCommandEncoder.encodeRead(reads, batch: state.batch, layout: state.layout, into: &state.buffers[2])
            blobs.append(state.buffers[2])
        }
        replies = try send(blobs, replies: Array(repeating: 1, count: blobs.count))
        try state.afterRoundTrip?(2)
        r = 0
        if !missing.isEmpty {
            for (e, log) in zip(missing, try decodeScript(replies[r], indices: missing, state: state)) { logs[e] = log }
            r += 1
        }
        var vanished: [Int] = []
        if !reads.isEmpty {
            try Self.check(replies[r], "log read")
            guard let items = replies[r].array, items.count == reads.count else {
                throw .protocolViolation("log read returned \(replies[r]) for \(reads.count) entities")
            }
            for (request, item) in zip(reads, items) {
                switch item {
                case .null:
                    // The list is gone or was created again since the append, and this batch's
                    // entries with it: append them anew.
                    vanished.append(request.entity)
                case .array(let parts):
                    guard let from = parts.first?.integer else { throw .protocolViolation("log read reply is malformed: \(item)") }
                    logs[request.entity].from = from
                    logs[request.entity].entries = try Self.entries(parts.dropFirst())
                default:
                    throw .protocolViolation("log read reply is \(item)")
                }
            }
        }
        guard !vanished.isEmpty else { return logs }
        replies = try send([encodeScript(.update, vanished, events: events, state: &state)], replies: [1])
        try state.afterRoundTrip?(3)
        for (e, log) in zip(vanished, try decodeScript(replies[0], indices: vanished, state: state)) { logs[e] = log }
        return logs
    }

    /// `LogScript.script` for the batch's entities at `indices`.
    private func encodeScript(
        _ action: LogScript.Action, _ indices: [Int], events: UnsafeBufferPointer<PaymentEvent>, state: inout MirrorState
    ) -> [UInt8] {
        let compiled = state.compiled!
        let call = LogCommandEncoder.Call(action: action, retention: compiled.retention, ttl: compiled.evictAfter, freshEpoch: Int64.random(in: 1...(1 << 52)))
        state.encoder.encode(
            call, batch: state.batch, indices: indices, events: events, layout: state.layout, codecs: state.codecs, cursors: state.cursors,
            into: &state.buffers[1]
        )
        return state.buffers[1]
    }

    /// One pipelined round trip.
    private func send(_ blobs: [[UInt8]], replies counts: [Int]) throws(FeatureStoreError) -> [RedisReply] {
        do {
            return try pool.withConnection { connection throws(RedisError) in
                try connection.pipeline(encoded: blobs, replies: counts, loading: LogScript.all)
            }
        } catch {
            if error.isUnavailable { throw .unavailable(error.description) }
            throw .protocolViolation(error.description)
        }
    }

    /// After a restart or failover the same epoch may carry a shorter list (a persisted log that
    /// lost its tail), which a cursor cannot tell: another instance's appends can take the lost
    /// positions before this one looks, and its cursor then skips them for good. So before a
    /// batch uses its cursors, a connection to another server than the last batch's (its run id,
    /// read when connecting, no round trip otherwise) drops them all: each entity of this batch
    /// is read from its log's start and rebuilt in the mirror, and every other one when it next
    /// comes. Checked before the batch's calls, whose commands carry the cursors, on the
    /// connection they will use: the store borrows from its own pool one call at a time (under
    /// `state`'s lock) and the pool hands out the connection returned last. A connection whose
    /// socket died with the old server fails its call and leaves the pool, so the retry gets
    /// here on a new one.
    private func dropCursorsIfServerChanged(_ state: inout MirrorState) throws(FeatureStoreError) {
        let runID: String?
        do {
            runID = try pool.withConnection { connection throws(RedisError) in
                try connection.connectIfNeeded()
                return connection.serverRunID
            }
        } catch {
            if error.isUnavailable { throw .unavailable(error.description) }
            throw .protocolViolation(error.description)
        }
        guard let runID, runID != state.serverRunID else { return }
        if state.serverRunID != nil { state.cursors = EntityCursors(groups: state.codecs.count) }
        state.serverRunID = runID
    }

    /// Whether an append of entries up to `newest` makes the log's upkeep due (`LogScript`'s
    /// `maintain`) by the header as this instance last saw it: the mark is retention / 8 behind,
    /// or 1/16 of the TTL has passed (by this machine's clock; the script decides by the server's
    /// on the header as it is). The mark and deadline only grow, so what is due by the header as
    /// it is was due by the one last seen.
    private static func due(newest: Int64, mark: Int64, deadline: Int64, now: Int64, compiled: CompiledPlan) -> Bool {
        let ttl = compiled.evictAfter
        return newest - mark >= compiled.retention / 8 || 16 * (now - (deadline - ttl)) >= ttl
    }

    private func applyUpkeep(_ reply: RedisReply, _ requests: [LogCommandEncoder.MaintenanceRequest], to logs: inout [EntityLog]) throws(FeatureStoreError) {
        try Self.check(reply, "log maintenance")
        guard let items = reply.array, items.count == requests.count else {
            throw .protocolViolation("log maintenance returned \(reply) for \(requests.count) entities")
        }
        for (request, item) in zip(requests, items) {
            // nil: skipped, the list has another epoch than the append saw.
            guard case .array(let values) = item, values.count == 2, let mark = values[0].integer, let deadline = values[1].integer else { continue }
            logs[request.entity].mark = mark
            logs[request.entity].deadline = deadline
        }
    }

    /// Epoch, base, mark, deadline from a header's four big-endian doubles.
    private static func header(_ bytes: [UInt8]) -> (epoch: Int64, base: Int64, mark: Int64, deadline: Int64)? {
        guard bytes.count == 32 else { return nil }
        return bytes.withUnsafeBytes { raw in
            // Integers below 2^53 (anything else is not a header this store wrote: nil, not a trap).
            func field(_ i: Int) -> Int64? { Int64(exactly: Double(bitPattern: UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)))) }
            guard let epoch = field(0), let base = field(1), let mark = field(2), let deadline = field(3) else { return nil }
            return (epoch, base, mark, deadline)
        }
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
    }

    /// One entity's log as a call found it.
    private struct EntityLog {
        /// 0 when the log does not exist.
        var epoch: Int64
        /// The absolute index of `entries[0]`.
        var from: Int64
        /// The absolute index after this batch's entries.
        var end: Int64
        /// The header's mark and deadline.
        var mark: Int64
        var deadline: Int64
        /// What others appended between the cursor (or the base) and this batch's entries.
        var entries: [[UInt8]]
    }

    /// A refusal: the server loading or busy is an outage, anything else a protocol violation.
    private static func check(_ reply: RedisReply, _ what: String) throws(FeatureStoreError) {
        guard let message = reply.errorMessage else { return }
        if message.hasPrefix("LOADING") || message.hasPrefix("BUSY") { throw .unavailable("Redis replied: \(message)") }
        throw .protocolViolation("\(what) failed: \(message)")
    }

    private static func entries(_ items: ArraySlice<RedisReply>) throws(FeatureStoreError) -> [[UInt8]] {
        var entries: [[UInt8]] = []
        entries.reserveCapacity(items.count)
        for item in items {
            guard case .bulk(let bytes) = item else { throw .protocolViolation("a log call returned a non-string entry: \(item)") }
            entries.append(bytes)
        }
        return entries
    }

    /// `LogScript.script`'s reply for the batch's entities at `indices`.
    private func decodeScript(_ reply: RedisReply, indices: [Int], state: MirrorState) throws(FeatureStoreError) -> [EntityLog] {
        try Self.check(reply, "log script")
        guard let values = reply.array, values.count == indices.count else {
            throw .protocolViolation("log script returned \(reply.array.map { "\($0.count) values" } ?? "\(reply)") for \(indices.count) entities")
        }
        var logs: [EntityLog] = []
        logs.reserveCapacity(indices.count)
        for (e, value) in zip(indices, values) {
            guard case .array(let items) = value, items.count >= 5, let epoch = items[0].integer, let from = items[1].integer,
                  let end = items[2].integer, let mark = items[3].integer, let deadline = items[4].integer else {
                let entity = state.batch.entities[e]
                throw .protocolViolation("log script reply for \(state.layout.name(group: entity.group, value: entity.value)) is malformed: \(value)")
            }
            logs.append(EntityLog(epoch: epoch, from: from, end: end, mark: mark, deadline: deadline, entries: try Self.entries(items[5...])))
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
        for (e, (entity, log)) in zip(state.batch.entities, logs).enumerated() {
            let cursor = state.known[e]
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

}
