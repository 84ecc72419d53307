import Engine
import Features
import FraudCore
import Logging
import Redis
import Testing
import LocalStackSupport

@Suite("A batch retried after its Redis reply was lost, against the real Redis", .enabled(if: LocalStack.isEnabled, LocalStack.skipMessage))
struct RedisRetryIntegrationTests {
    @Test("the retry gets exactly the lost reply's values: a late same-card event later in the batch is not counted for the earlier one, and nothing is stored twice")
    func retryAfterLostReply() async throws {
        let redis = try RedisConfiguration(url: try LocalStack.required("WAQITI_REDIS_URL"))
        let proxy = try TCPProxy(upstreamPort: redis.port)
        defer { proxy.cut() }
        let prefix = "waqiti:it-retry:\(LocalStack.runID()):"
        let store = RedisFeatureStore(
            configuration: RedisConfiguration(host: "127.0.0.1", port: proxy.port, database: redis.database,
                                              connectTimeout: .seconds(1), commandTimeout: .milliseconds(500)),
            keyPrefix: prefix
        )
        let router = FeatureRouter(
            local: InMemoryFeatureStore(configuration: .init(lateness: .minutes(5))), shared: store, storeOf: { _ in .redis },
            probeInterval: .seconds(1), logger: Logger(label: "retry-it")
        )
        let plan = FeaturePlan([FeatureSpec(kind: .count, key: .cardFingerprint, window: .hours(1))])
        let card = "card-\(LocalStack.runID())"
        // In arrival order: a at 12:00:10, then b at 12:00:05 (late, same card). a's window holds a
        // alone (b had not arrived); b's holds b alone (a is later than b).
        let base: Int64 = 1_795_948_200_000
        let batch = [payment("retry-a-\(card)", card: card, at: base + 10_000), payment("retry-b-\(card)", card: card, at: base + 5_000)]

        proxy.loseNextReply()
        let retried = try await router.features(for: batch, plan: plan, mode: .update)
        #expect(!retried.degraded, "the retry on a fresh connection answered")
        #expect(retried.values == [1, 1], "a read again as a duplicate would count b: [2, 1]")
        #expect(retried.report.duplicates == 0)

        // Stored once each: a third event sees both.
        let next = try await router.features(for: [payment("retry-c-\(card)", card: card, at: base + 20_000)], plan: plan, mode: .update)
        #expect(next.values == [3])
    }
}
