import FraudCore
import Redis
import Testing
@testable import Features
import LocalStackSupport

/// The Redis store's one-call-per-batch protocol and plan changes.
@Suite("Redis store state and round trips", .enabled(if: LocalStack.isEnabled, LocalStack.skipMessage))
struct RedisStateTests {
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
