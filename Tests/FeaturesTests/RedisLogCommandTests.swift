import FraudCore
import Redis
import Testing
@testable import Features

/// The store's `EVALSHA`, written straight as bytes, against the command built the previous way
/// (key strings, argument arrays, entries as text) and formatted by hiredis. No services.
@Suite("Redis log command encoding")
struct RedisLogCommandTests {
    static let plan = FeaturePlan([
        "count(card_fingerprint, 10m)", "sum(amount_minor, card_fingerprint, 1h)", "distinct(ip, account_id, 1h)", "max(amount_usd, account_id, 24h)",
    ].map { try! FeatureSpec(parsing: $0) })

    /// Integers as big-endian doubles, computed independently of the encoder.
    static func packed(_ values: [Int64]) -> [UInt8] {
        values.flatMap { value in
            let bits = Double(value).bitPattern
            return stride(from: 56, through: 0, by: -8).map { UInt8(truncatingIfNeeded: bits >> UInt64($0)) }
        }
    }

    @Test("Keys, cursors and entries in first-appearance order, byte for byte as before", arguments: [StoreMode.update, .readOnly])
    func byteForByte(mode: StoreMode) {
        let compiled = CompiledPlan(plan: Self.plan, lateness: .minutes(5))
        #expect(compiled.groups.map(\.key) == [.cardFingerprint, .accountID])
        let events = [
            payment("p0", at: 0, card: "c1", account: "a1", amount: 125, currency: .eur),
            payment("p%1", at: 9, card: "c2", account: "a1", ip: "10.0.0.\u{1F}"),
            payment("p2", at: 4, card: "c1", account: "a2", amount: -3),
            payment("p3", at: 2, card: "c3", account: "a1"),
        ]
        let codecs = compiled.groups.map { LogEntryCodec(key: $0.key, plan: Self.plan) }
        let prefix = "waqiti-test:enc:"
        let tags = ["1f2e", "ab"]
        var cursors = EntityCursors(groups: 2)
        cursors.set(group: 0, value: "c1", epoch: 77, end: 5, seen: 0)
        cursors.set(group: 1, value: "a2", epoch: 1 << 52, end: 123_456, seen: 0)

        var batch = BatchEntities()
        events.withUnsafeBufferPointer { batch.group($0, plan: compiled, rates: .builtIn) }
        #expect(batch.entities.map(\.value) == ["c1", "a1", "c2", "a2", "c3"])
        #expect((0..<batch.count).map { Array(batch.events(of: $0)) } == [[0, 2], [0, 1, 3], [1], [2], [3]])

        let replyKey = mode == .update ? "\(prefix)reply:beef" : nil
        var encoder = LogCommandEncoder()
        let call = LogCommandEncoder.Call(mode: mode, retention: compiled.retention, ttl: compiled.evictAfter, freshEpoch: 4_503_599_627_370_496, replyKey: replyKey)
        events.withUnsafeBufferPointer { events in
            encoder.encode(call, batch: batch, events: events, layout: .init(prefix: prefix, fields: [.cardFingerprint, .accountID], tags: tags), codecs: codecs, cursors: cursors)
        }

        // The previous construction: key strings and argument arrays.
        let update = mode == .update
        var keys = [("card_fingerprint", "c1", 0), ("account_id", "a1", 1), ("card_fingerprint", "c2", 0), ("account_id", "a2", 1), ("card_fingerprint", "c3", 0)]
            .map { "\(prefix){\($0.0):\($0.1)}:\(tags[$0.2])" }
        if let replyKey { keys.append(replyKey) }
        var arguments: [[UInt8]] = [String(compiled.retention), String(compiled.evictAfter), update ? "2" : "1", "4503599627370496"].map { Array($0.utf8) }
        let time = { (i: Int) in events[i].occurredAt.millisecondsSinceEpoch }
        let perEntity: [(cursor: [Int64], group: Int, members: [Int])] = [
            ([77, 5], 0, [0, 2]), ([0, 0], 1, [0, 1, 3]), ([0, 0], 0, [1]), ([1 << 52, 123_456], 1, [2]), ([0, 0], 0, [3]),
        ]
        for entity in perEntity {
            let newest = entity.members.map(time).max()!
            arguments.append(Self.packed(entity.cursor + (update ? [Int64(entity.members.count), newest] : [0, 0])))
            guard update else { continue }
            for i in entity.members { arguments.append(Array(codecs[entity.group].encode(events[i]).utf8)) }
        }
        let reference = LogScript.script.invocation(keys: keys.map { Array($0.utf8) }, arguments: arguments).encoded
        #expect(encoder.bytes.count == reference.count)
        #expect(encoder.bytes == reference)
    }

    @Test("Events without a value for a key field belong to no entity of that field")
    func missingKeyValue() {
        let plan = FeaturePlan([try! FeatureSpec(parsing: "count(beneficiary_id, 1h)"), try! FeatureSpec(parsing: "count(card_fingerprint, 1h)")])
        let compiled = CompiledPlan(plan: plan, lateness: .minutes(5))
        let events = [payment("p0", at: 0, card: "c1"), payment("p1", at: 1, card: "c1", beneficiary: "b1"), payment("p2", at: 2, card: "c2", beneficiary: "b1")]
        var batch = BatchEntities()
        events.withUnsafeBufferPointer { batch.group($0, plan: compiled, rates: .builtIn) }
        let named = (0..<batch.count).map { "\(compiled.groups[batch.entities[$0].group].key.name)=\(batch.entities[$0].value):\(Array(batch.events(of: $0)))" }
        #expect(named.sorted() == ["beneficiary_id=b1:[1, 2]", "card_fingerprint=c1:[0, 1]", "card_fingerprint=c2:[2]"])
        #expect(batch.entities.map(\.newest).sorted() == [1, 2, 2].map { StreamGenerator.start + $0 * 1000 })
    }
}
