import FraudCore
import Redis
import Synchronization

/// Sliding windows in Redis, shared by every engine instance that points at it.
///
/// One round trip per batch: the whole batch is one `EVALSHA` of `WindowScript`, which groups the
/// events by (key field, key value) and keeps, per key value, the entries in a sorted set and the
/// running aggregates beside them, so an in-order event costs O(1) amortized work on the server and
/// a late one work in proportion to the entries within its lateness, never to the window.
/// Both keys of one entity carry the same hash tag (`waqiti:fw:{card_fingerprint:abc}:1f2e3d4c`,
/// `…:s`), so each entity lives in one Redis Cluster slot; the script declares
/// `allow-cross-slot-keys`, so a cluster-aware client sends one call per node. (This build's
/// wrapper talks to one node.)
///
/// Results equal `InMemoryFeatureStore`'s exactly (docs/features.md; the oracle tests check both).
/// Every key has a TTL of the eviction horizon (longest window + 2 × lateness) in wall-clock time,
/// refreshed on each insert (the entries key up to 1/8 longer, so it always outlives the state), so
/// Redis memory stays bounded even if no event ever comes back for a key.
/// If Redis loses its data (restart without persistence, FLUSHALL), windows restart empty.
public final class RedisFeatureStore: FeatureStore {
    public let lateness: EventDuration
    public let rates: ExchangeRates
    /// Prepended to every key, before the hash tag.
    public let keyPrefix: String
    private let pool: RedisConnectionPool
    private let clock = StoreClock()
    private let compiled = Mutex<(plan: CompiledPlan, tags: [String])?>(nil)
    /// The last update whose reply did not arrive, as it was sent.
    private let unanswered = Mutex<UnansweredCall?>(nil)

    private struct UnansweredCall {
        var plan: FeaturePlan
        var paymentIDs: [String]
        var times: [Int64]
        var arguments: [String]
        var token: String
    }

    public init(
        configuration: RedisConfiguration, lateness: EventDuration = .minutes(5), rates: ExchangeRates = .builtIn,
        keyPrefix: String = "waqiti:fw:"
    ) {
        self.lateness = lateness
        self.rates = rates
        self.keyPrefix = keyPrefix
        pool = RedisConnectionPool(configuration: configuration)
    }

    public func process(_ events: [PaymentEvent], plan: FeaturePlan, mode: StoreMode, into out: inout [Double]) async throws -> BatchReport {
        try processSync(events, plan: plan, mode: mode, into: &out)
    }

    /// `process` without the suspension point (the call blocks on the network for one round trip).
    public func processSync(_ events: [PaymentEvent], plan: FeaturePlan, mode: StoreMode, into out: inout [Double]) throws(FeatureStoreError) -> BatchReport {
        let (layout, tags) = compiledPlan(for: plan)
        let width = plan.count
        out.removeAll(keepingCapacity: true)
        out.append(contentsOf: repeatElement(Double.nan, count: events.count * width))
        guard !events.isEmpty, width > 0 else { return BatchReport() }
        let facts = layout.facts(of: events, rates: rates)
        let (_, newestAt) = clock.advance(over: facts.times, mode: mode)

        // One call per (group, key value), with that key's events in batch order.
        var calls: [(group: Int, events: [Int])] = []
        var callIndex: [String: Int] = [:]
        var keys: [String] = []
        let groupCount = layout.groups.count
        out.withUnsafeMutableBufferPointer { buffer in
            for i in events.indices {
                for g in 0..<groupCount {
                    guard let value = facts.keys[i * groupCount + g] else {
                        layout.groups[g].writeMissingKey(row: i * width, into: buffer)
                        continue
                    }
                    let key = "\(keyPrefix){\(layout.groups[g].key.name):\(value)}:\(tags[g])"
                    if let c = callIndex[key] {
                        calls[c].events.append(i)
                    } else {
                        callIndex[key] = calls.count
                        calls.append((g, [i]))
                        keys.append(key)
                    }
                }
            }
        }
        var (redisKeys, arguments) = command(calls: calls, keys: keys, facts: facts, newestAt: newestAt, plan: layout, mode: mode, paymentIDs: events)
        // An update keeps its reply under a token for a short while. The same batch sent again
        // after its reply was lost (the caller's retry) goes out exactly as the first time, token
        // included, and gets exactly that reply: its events were stored by the first call, and
        // reading them again as duplicates would also count same-key events that came after them
        // in the batch. (The arguments are reused, not rebuilt, because the first call already
        // advanced the store's clock that "newest time" arguments come from.)
        var token: String?
        if mode == .update {
            // Only after a failure is there anything to compare; a healthy batch pays nothing.
            if let last = unanswered.withLock({ $0 }), last.plan == plan, last.times == facts.times,
               last.paymentIDs.elementsEqual(events.lazy.map(\.paymentID)) {
                arguments = last.arguments
                token = last.token
            } else {
                token = Self.newToken()
            }
            redisKeys.append("\(keyPrefix)reply:\(token!)")
        }
        let command = WindowScript.script.invocation(keys: redisKeys, arguments: arguments)
        let reply: RedisReply
        do {
            reply = try pool.withConnection { connection throws(RedisError) in
                try connection.pipeline([command], loading: [WindowScript.script])[0]
            }
        } catch {
            if error.isUnavailable {
                if let token {
                    let call = UnansweredCall(plan: plan, paymentIDs: events.map(\.paymentID), times: facts.times, arguments: arguments, token: token)
                    unanswered.withLock { $0 = call }
                }
                throw .unavailable(error.description)
            }
            throw .protocolViolation(error.description)
        }
        // Answered: nothing to resend.
        if token != nil { unanswered.withLock { if $0 != nil { $0 = nil } } }
        var flags = [UInt8](repeating: 0, count: events.count)
        try out.withUnsafeMutableBufferPointer { buffer throws(FeatureStoreError) in
            try decode(reply, plan: layout, calls: calls, width: width, flags: &flags, into: buffer)
        }
        var report = BatchReport()
        for flag in flags {
            if flag & 1 != 0 { report.duplicates += 1 }
            if flag & 2 != 0 { report.tooLate += 1 }
        }
        return report
    }

    static func newToken() -> String {
        String(UInt64.random(in: .min ... .max), radix: 16) + String(UInt64.random(in: .min ... .max), radix: 16)
    }

    /// The keys and arguments of the batch's `EVALSHA`: per call group its two keys (entries,
    /// state) and its events; an update's reply key is added by the caller.
    private func command(
        calls: [(group: Int, events: [Int])], keys: [String], facts: BatchFacts, newestAt: [Int64], plan: CompiledPlan,
        mode: StoreMode, paymentIDs: [PaymentEvent]
    ) -> (keys: [String], arguments: [String]) {
        var arguments: [String] = [
            String(plan.lateness), String(plan.retention), String(plan.evictAfter), String(plan.evictAfter),
            mode == .readOnly ? "1" : "2", String(plan.groups.count),
        ]
        for group in plan.groups {
            arguments.append(String(group.features.count))
            for feature in group.features {
                arguments.append(String(WindowScript.code(feature.kind)))
                arguments.append(String(feature.windowMs))
            }
        }
        var redisKeys: [String] = []
        redisKeys.reserveCapacity(keys.count * 2)
        for (c, call) in calls.enumerated() {
            redisKeys.append(keys[c])
            redisKeys.append(keys[c] + ":s")
            arguments.append(String(call.group + 1))
            arguments.append(String(call.events.count))
            for i in call.events {
                let paymentID = RedisFeatureStore.escape(paymentIDs[i].paymentID)
                arguments.append(String(facts.times[i]))
                arguments.append(String(newestAt[i]))
                arguments.append(paymentID)
                arguments.append(member(i, paymentID: paymentID, group: plan.groups[call.group], facts: facts))
            }
        }
        return (redisKeys, arguments)
    }

    /// `time␟payment_id␟token…`: what the event contributes to each feature of the key.
    private func member(_ i: Int, paymentID: String, group: GroupLayout, facts: BatchFacts) -> String {
        var text = String(facts.times[i])
        text.append("\u{1F}")
        text.append(paymentID)
        facts.masks.withUnsafeBufferPointer { masks in
            let mask = UnsafeBufferPointer(rebasing: masks[(i * facts.maskWords)...])
            for feature in group.features {
                text.append("\u{1F}")
                guard feature.condition.holds(mask) else {
                    text.append("-")
                    continue
                }
                switch feature.kind {
                case .count, .secondsSinceFirst, .secondsSinceLast:
                    text.append("1")
                case .sum, .avg, .min, .max:
                    text.append(String(facts.numerics[i * facts.numericCount + feature.numericSlot!]))
                case .distinct:
                    text.append("=")
                    text.append(RedisFeatureStore.escape(facts.strings[i * facts.stringCount + group.stringSlots[feature.stringColumn!]]))
                }
            }
        }
        return text
    }

    /// Maps the script's integers to feature values the same way `KeyWindow` computes them.
    private func decode(
        _ reply: RedisReply, plan: CompiledPlan, calls: [(group: Int, events: [Int])], width: Int, flags: inout [UInt8],
        into out: UnsafeMutableBufferPointer<Double>
    ) throws(FeatureStoreError) {
        if let message = reply.errorMessage {
            if message.hasPrefix("LOADING") || message.hasPrefix("BUSY") { throw .unavailable("Redis replied: \(message)") }
            throw .protocolViolation("window script failed: \(message)")
        }
        let expected = calls.reduce(0) { $0 + $1.events.count * (1 + 2 * plan.groups[$1.group].features.count) }
        guard let values = reply.array, values.count == expected else {
            throw .protocolViolation("window script returned \(reply.array.map { "\($0.count) values" } ?? "\(reply)") for \(expected) expected")
        }
        var k = 0
        func next() throws(FeatureStoreError) -> Int64 {
            guard let v = values[k].integer else { throw .protocolViolation("window script returned a non-integer: \(values[k])") }
            k += 1
            return v
        }
        for call in calls {
            let group = plan.groups[call.group]
            for i in call.events {
                switch try next() {
                case 1: flags[i] |= 1
                case 2: flags[i] |= 2
                default: break
                }
                for feature in group.features {
                    let a = try next(), b = try next()
                    let value: Double
                    switch feature.kind {
                    case .count, .distinct: value = Double(a)
                    case .sum: value = feature.scale.value(a)
                    case .avg: value = feature.scale.average(sum: a, count: b)
                    case .min, .max: value = b == 1 ? feature.scale.value(a) : .nan
                    case .secondsSinceFirst, .secondsSinceLast: value = b == 1 ? Double(a / 1000) : .nan
                    }
                    out[i * width + feature.outColumn] = value
                }
            }
        }
    }

    /// Keeps the member separator (0x1F) out of text; injective, so distinct counts are unchanged.
    static func escape(_ text: String) -> String {
        guard text.utf8.contains(where: { $0 == 0x1F || $0 == UInt8(ascii: "%") }) else { return text }
        var escaped: [UInt8] = []
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "%"): escaped.append(contentsOf: "%25".utf8)
            case 0x1F: escaped.append(contentsOf: "%1F".utf8)
            default: escaped.append(byte)
            }
        }
        return String(decoding: escaped, as: UTF8.self)
    }

    /// Key names end in a tag of the key's feature list, so a changed plan never reads members written
    /// for another layout: a key field whose features changed starts empty, the others keep their
    /// windows (as in memory).
    private func compiledPlan(for plan: FeaturePlan) -> (CompiledPlan, [String]) {
        compiled.withLock { current in
            if let current, current.plan.plan == plan { return (current.plan, current.tags) }
            let fresh = CompiledPlan(plan: plan, lateness: lateness)
            let tags = fresh.groups.map { group in
                // The members and state of a key depend only on its features (and the look-back of
                // seconds_since_*): a reload that leaves a key field's features alone keeps its windows.
                let signature = group.features.map { "\(plan.features[$0.outColumn].canonicalName)/\($0.windowMs)" }.joined(separator: "\n")
                    + "\nv\(WindowScript.layoutVersion)"
                return String(StableHash.hash(signature) & 0xFFFF_FFFF, radix: 16)
            }
            current = (fresh, tags)
            return (fresh, tags)
        }
    }
}
