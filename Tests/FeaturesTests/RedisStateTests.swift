import FraudCore
import Redis
import Testing
@testable import Features
import LocalStackSupport

/// The Redis store's server-side state: the running aggregates beside each key's entries, and the
/// one-call-per-batch protocol.
@Suite("Redis store state and round trips", .enabled(if: LocalStack.isEnabled, LocalStack.skipMessage))
struct RedisStateTests {
    static let plan = FeaturePlan([
        "count(card_fingerprint, 1h)", "sum(amount_minor, card_fingerprint, 1h)",
        "max(amount_minor, card_fingerprint, 1h)", "distinct(ip, card_fingerprint, 1h)",
    ].map { try! FeatureSpec(parsing: $0) })

    @Test("A lost state string is rebuilt from the entries, and the rebuilt windows keep sliding exactly")
    func rebuildsLostState() async throws {
        let configuration = try RedisTestEnvironment.configuration()
        let prefix = RedisTestEnvironment.uniquePrefix("rebuild")
        let store = RedisFeatureStore(configuration: configuration, keyPrefix: prefix)
        var out: [Double] = []
        _ = try store.processSync([
            payment("p1", at: 0, amount: 100, ip: "a"), payment("p2", at: 10, amount: 300, ip: "b"), payment("p3", at: 20, amount: 200, ip: "a"),
        ], plan: Self.plan, mode: .update, into: &out)
        #expect(out == [1, 100, 100, 1, 2, 400, 300, 2, 3, 600, 300, 2])

        let connection = try RedisConnection(configuration: configuration)
        let states = try connection.send(RedisCommand("KEYS", "\(prefix)*:s")).array?.compactMap(\.string) ?? []
        #expect(states.count == 1)
        for key in states { try connection.send(RedisCommand("DEL", key)) }

        _ = try store.processSync([payment("p4", at: 30, amount: 50, ip: "c")], plan: Self.plan, mode: .update, into: &out)
        #expect(out == [4, 650, 300, 3])
        // Window (1 s, 3601 s]: p1 has left, p2's 300 is still the maximum.
        _ = try store.processSync([payment("p5", at: 3601, amount: 10, ip: "a")], plan: Self.plan, mode: .update, into: &out)
        #expect(out == [4, 560, 300, 3])
        // Window (11 s, 3611 s]: p2 has left; the deque's next maximum is p3's 200.
        _ = try store.processSync([payment("p6", at: 3611, amount: 5, ip: "d")], plan: Self.plan, mode: .update, into: &out)
        #expect(out == [4, 265, 200, 3])
    }

    @Test("A batch is one EVALSHA, whatever the number of keys it touches")
    func oneCallPerBatch() async throws {
        let redis = DisposableRedis()
        try redis.start()
        defer { redis.stop() }
        let store = RedisFeatureStore(configuration: redis.configuration)
        let batch = (0..<200).map { payment("p\($0)", at: Int64($0), card: "card\($0 % 50)", account: "acct\($0 % 30)") }
        let plan = FeaturePlan([try FeatureSpec(parsing: "count(card_fingerprint, 10m)"), try FeatureSpec(parsing: "count(account_id, 10m)")])
        var out: [Double] = []
        _ = try store.processSync(Array(batch.prefix(100)), plan: plan, mode: .update, into: &out)
        let connection = try RedisConnection(configuration: redis.configuration)
        let before = try evalSHACalls(connection)
        _ = try store.processSync(Array(batch.suffix(100)), plan: plan, mode: .update, into: &out)
        #expect(try evalSHACalls(connection) - before == 1)
        // p199: card49 has p49, p99, p149, p199; acct19 has p19, p49, …, p199 (7 events).
        #expect(Array(out.suffix(2)) == [4, 7])
    }

    @Test("A reload keeps the windows of unchanged key fields and restarts the others")
    func planChange() async throws {
        let store = RedisFeatureStore(configuration: try RedisTestEnvironment.configuration(), keyPrefix: RedisTestEnvironment.uniquePrefix("reload"))
        var out: [Double] = []
        let rows = try PlanChange.run { event, plan in
            _ = try store.processSync([event], plan: plan, mode: .update, into: &out)
            return out
        }
        #expect(rows == PlanChange.steps.map(\.2))
    }

    private func evalSHACalls(_ connection: RedisConnection) throws -> Int {
        let info = try connection.send(RedisCommand("INFO", "commandstats")).string ?? ""
        guard let line = info.split(whereSeparator: \.isNewline).first(where: { $0.hasPrefix("cmdstat_evalsha:") }),
              let calls = line.split(separator: ",").first?.split(separator: "=").last else { return 0 }
        return Int(calls) ?? 0
    }
}
