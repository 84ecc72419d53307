import FraudCore
import Redis
import Testing
@testable import Features
import LocalStackSupport

/// The Redis store's round trips per batch (one `MULTI` block in the usual case) and plan changes.
@Suite("Redis store state and round trips", .enabled(if: LocalStack.isEnabled, LocalStack.skipMessage))
struct RedisStateTests {
    @Test("A batch of known entities is one MULTI block and no script, whatever the number of keys it touches; new ones take one EVALSHA")
    func oneCallPerBatch() async throws {
        let redis = DisposableRedis()
        try redis.start()
        defer { redis.stop() }
        let store = RedisFeatureStore(configuration: redis.configuration)
        let batch = (0..<200).map { payment("p\($0)", at: Int64($0), card: "card\($0 % 50)", account: "acct\($0 % 30)") }
        // 1h windows: no upkeep falls due within the 200 s of these batches.
        let plan = FeaturePlan([try FeatureSpec(parsing: "count(card_fingerprint, 1h)"), try FeatureSpec(parsing: "count(account_id, 1h)")])
        var out: [Double] = []
        let connection = try RedisConnection(configuration: redis.configuration)
        _ = try store.processSync(Array(batch.prefix(100)), plan: plan, mode: .update, into: &out)
        // Every entity was new to the store: one EVALSHA created all 80 lists, no MULTI block.
        #expect(try connection.calls("evalsha") == 1)
        #expect(try connection.calls("exec") == 0)
        _ = try store.processSync(Array(batch.suffix(100)), plan: plan, mode: .update, into: &out)
        #expect(try connection.calls("evalsha") == 1)
        #expect(try connection.calls("exec") == 1)
        #expect(try connection.calls("rpushx") == 80)
        // 80 header reads in the block, after the 80 of the script that created the lists.
        #expect(try connection.calls("lindex") == 160)
        #expect(try connection.send(RedisCommand("DBSIZE")).integer == 80)
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
}

extension RedisConnection {
    /// Successful calls of `command` since the server started (`INFO commandstats`); a call answered
    /// `NOSCRIPT` (then loaded and sent again) counts as failed, not here. Only a `DisposableRedis`
    /// has counters no other suite moves.
    func calls(_ command: String) throws -> Int {
        let info = try send(RedisCommand("INFO", "commandstats")).string ?? ""
        guard let line = info.split(whereSeparator: \.isNewline).first(where: { $0.hasPrefix("cmdstat_\(command):") }) else { return 0 }
        let fields = Dictionary(line.split(separator: ":").last!.split(separator: ",").map { pair in
            let parts = pair.split(separator: "=")
            return (String(parts[0]), Int(parts.last!) ?? 0)
        }, uniquingKeysWith: { $1 })
        return (fields["calls"] ?? 0) - (fields["failed_calls"] ?? 0)
    }
}
