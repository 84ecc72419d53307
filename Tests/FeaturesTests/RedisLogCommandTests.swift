import FraudCore
import Redis
import Testing
@testable import Features

/// The store's commands, written straight as bytes, against the same commands built from key
/// strings, argument arrays and entries as text and formatted by hiredis. No services.
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

    /// `packed`'s inverse: a log header (epoch, base, mark, deadline) or cursor read back from Redis.
    static func unpacked(_ bytes: [UInt8]) -> [Int64] {
        stride(from: 0, to: bytes.count, by: 8).map { i in
            Int64(Double(bitPattern: bytes[i..<min(i + 8, bytes.count)].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }))
        }
    }

    static let prefix = "waqiti-test:enc:"
    static let tags = ["1f2e", "ab"]
    static let events = [
        payment("p0", at: 0, card: "c1", account: "a1", amount: 125, currency: .eur),
        payment("p%1", at: 9, card: "c2", account: "a1", ip: "10.0.0.\u{1F}"),
        payment("p2", at: 4, card: "c1", account: "a2", amount: -3),
        payment("p3", at: 2, card: "c3", account: "a1"),
    ]
    static let layout = LogCommandEncoder.KeyLayout(prefix: prefix, fields: [.cardFingerprint, .accountID], tags: tags)
    /// The entities of `events` in first-appearance order: key field, value, group, events.
    static let entities: [(field: String, value: String, group: Int, members: [Int])] = [
        ("card_fingerprint", "c1", 0, [0, 2]), ("account_id", "a1", 1, [0, 1, 3]), ("card_fingerprint", "c2", 0, [1]),
        ("account_id", "a2", 1, [2]), ("card_fingerprint", "c3", 0, [3]),
    ]

    /// The compiled plan, codecs and grouped batch of `events`.
    static func fixture() -> (CompiledPlan, [LogEntryCodec], BatchEntities) {
        let compiled = CompiledPlan(plan: plan, lateness: .minutes(5))
        let codecs = compiled.groups.map { LogEntryCodec(key: $0.key, plan: plan) }
        var batch = BatchEntities()
        events.withUnsafeBufferPointer { batch.group($0, plan: compiled, rates: .builtIn) }
        return (compiled, codecs, batch)
    }

    static func key(_ e: Int) -> [UInt8] { Array("\(prefix){\(entities[e].field):\(entities[e].value)}:\(tags[entities[e].group])".utf8) }

    static func entries(_ e: Int, codecs: [LogEntryCodec]) -> [[UInt8]] {
        entities[e].members.map { Array(codecs[entities[e].group].encode(events[$0]).utf8) }
    }

    static func newest(_ e: Int) -> Int64 { entities[e].members.map { events[$0].occurredAt.millisecondsSinceEpoch }.max()! }

    @Test("LogScript calls: keys, cursors and entries in first-appearance order, byte for byte as hiredis formats them",
          arguments: [LogScript.Action.update, .readOnly, .recover], [false, true])
    func byteForByte(action: LogScript.Action, subset: Bool) {
        let (compiled, codecs, batch) = Self.fixture()
        #expect(compiled.groups.map(\.key) == [.cardFingerprint, .accountID])
        #expect(batch.entities.map(\.value) == ["c1", "a1", "c2", "a2", "c3"])
        #expect((0..<batch.count).map { Array(batch.events(of: $0)) } == [[0, 2], [0, 1, 3], [1], [2], [3]])
        var cursors = EntityCursors(groups: 2)
        cursors.set(group: 0, value: "c1", epoch: 77, end: 5, seen: 0)
        cursors.set(group: 1, value: "a2", epoch: 1 << 52, end: 123_456, seen: 0)
        let indices = subset ? [3, 0] : Array(0..<5)

        var encoder = LogCommandEncoder()
        var bytes: [UInt8] = []
        let call = LogCommandEncoder.Call(action: action, retention: compiled.retention, ttl: compiled.evictAfter, freshEpoch: 4_503_599_627_370_496)
        Self.events.withUnsafeBufferPointer { events in
            encoder.encode(call, batch: batch, indices: indices, events: events, layout: Self.layout, codecs: codecs, cursors: cursors, into: &bytes)
        }

        // The same call from key strings and argument arrays.
        let append = action != .readOnly
        let cursorOf: [Int: [Int64]] = [0: [77, 5], 3: [1 << 52, 123_456]]
        var arguments: [[UInt8]] = [String(compiled.retention), String(compiled.evictAfter), String(action.rawValue), "4503599627370496"].map { Array($0.utf8) }
        for e in indices {
            let cursor = cursorOf[e] ?? [0, 0]
            arguments.append(Self.packed(cursor + (append ? [Int64(Self.entities[e].members.count), Self.newest(e)] : [0, 0])))
            if append { arguments += Self.entries(e, codecs: codecs) }
        }
        let reference = LogScript.script.invocation(keys: indices.map(Self.key), arguments: arguments).encoded
        #expect(bytes.count == reference.count)
        #expect(bytes == reference)
    }

    @Test("The hot path: MULTI, RPUSHX and LINDEX 0 per entity, EXEC, byte for byte as hiredis formats them", arguments: [[0, 1, 2, 3, 4], [1, 3, 4]])
    func appendBlock(indices: [Int]) {
        let (_, codecs, batch) = Self.fixture()
        var encoder = LogCommandEncoder()
        var bytes: [UInt8] = []
        Self.events.withUnsafeBufferPointer { events in
            encoder.encodeAppend(batch: batch, indices: indices, events: events, layout: Self.layout, codecs: codecs, into: &bytes)
        }
        var reference = RedisCommand("MULTI").encoded
        for e in indices {
            reference += RedisCommand(arguments: [Array("RPUSHX".utf8), Self.key(e)] + Self.entries(e, codecs: codecs)).encoded
            reference += RedisCommand(arguments: [Array("LINDEX".utf8), Self.key(e), Array("0".utf8)]).encoded
        }
        reference += RedisCommand("EXEC").encoded
        #expect(bytes == reference)
        #expect(LogCommandEncoder.appendReplies(entities: 5) == 12)
    }

    @Test("The catch-up read and the upkeep calls, byte for byte as hiredis formats them")
    func readAndMaintenance() {
        let (compiled, _, batch) = Self.fixture()
        var bytes: [UInt8] = []
        LogCommandEncoder.encodeRead(
            [.init(entity: 1, epoch: 9, from: 3, before: 17), .init(entity: 4, epoch: 1 << 52, from: 0, before: 2)], batch: batch, layout: Self.layout,
            into: &bytes
        )
        #expect(bytes == LogScript.read.invocation(keys: [Self.key(1), Self.key(4)], arguments: [Self.packed([9, 3, 17]), Self.packed([1 << 52, 0, 2])]).encoded)

        LogCommandEncoder.encodeMaintenance(
            [.init(entity: 0, epoch: 77), .init(entity: 2, epoch: 5)], retention: compiled.retention, ttl: compiled.evictAfter, batch: batch,
            layout: Self.layout, into: &bytes
        )
        let arguments = [Array(String(compiled.retention).utf8), Array(String(compiled.evictAfter).utf8), Self.packed([77, Self.newest(0)]), Self.packed([5, Self.newest(2)])]
        #expect(bytes == LogScript.maintenance.invocation(keys: [Self.key(0), Self.key(2)], arguments: arguments).encoded)
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
