import Engine
import FraudCore
import Kafka
import Redis
import Testing
import LocalStackSupport

@Suite("Redis outage during a run, against the real broker and Redis", .enabled(if: LocalStack.isEnabled, LocalStack.skipMessage), .temporaryFolder)
struct DegradedModeIntegrationTests {
    @Test("Redis cut mid-run: decisions continue with features_degraded and the review_above policy, health says DEGRADED; Redis back: both recover")
    func outageAndRecovery() async throws {
        let redis = try RedisConfiguration(url: try LocalStack.required("WAQITI_REDIS_URL"))
        // The engine reaches Redis through a proxy the test cuts: Redis goes away for this engine
        // exactly as a crashed server would (connections closed, new ones refused).
        let proxy = try TCPProxy(upstreamPort: redis.port)
        defer { proxy.cut() }
        let harness = try EngineHarness(rules: """
        version "degraded-it-1"
        rule card_burst: decline +50 if count(card_fingerprint, 10m) >= 1000
        """) { configuration in
            configuration.features.redisURL = "redis://127.0.0.1:\(proxy.port)/\(redis.database)"
            configuration.features.redisProbeInterval = EventDuration(milliseconds: 200)
            configuration.degradedPolicy = .reviewAbove(usd: 1000)
        }
        let run = LocalStack.runID()
        // Per phase 40 payments on 5 cards; even ones $50.00, odd ones $2,000.00.
        func phase(_ number: Int) -> [PaymentEvent] {
            (0..<40).map { i in
                payment(
                    "degraded-\(run)-\(number)-\(i)", card: "card-\(run)-\(i % 5)", account: "acct-\(run)-\(i % 5)",
                    minor: i % 2 == 0 ? 5_000 : 200_000, at: 1_795_948_200_000 + Int64(number * 100 + i) * 1000
                )
            }
        }
        func decide(_ events: [PaymentEvent]) async throws -> [Decision] {
            try await harness.produce(events)
            let messages = try await harness.decisions(events.count, timeout: .seconds(60))
            let decoder = DecisionDecoder()
            let decisions = try messages.map { try decoder.decode($0.value) }
            #expect(Set(decisions.map(\.paymentID)) == Set(events.map(\.paymentID)))
            return decisions.sorted { $0.eventTime < $1.eventTime }
        }
        let small = (0..<40).map { $0 % 2 == 0 }
        harness.start()

        let before = try await decide(phase(1))
        #expect(before.filter(\.featuresDegraded).count == 0)
        #expect(before.map(\.outcome) == Array(repeating: .approve, count: 40))
        #expect(await harness.health("redis")?.status == .up)
        #expect(await harness.health("kafka")?.status == .up)

        proxy.cut()
        let during = try await decide(phase(2))
        #expect(during.filter(\.featuresDegraded).count == 40)
        #expect(during.map(\.outcome) == small.map { $0 ? .approve : .review }, "review_above 1000 USD turns large approvals into reviews")
        let degraded = await harness.health("redis")
        #expect(degraded?.status == .degraded)
        #expect(degraded?.detail.hasPrefix("\(redis.host):\(proxy.port) unreachable (cannot connect to Redis at 127.0.0.1:\(proxy.port): Connection refused") == true, "\(degraded?.detail ?? "no redis indicator")")
        #expect(await harness.health("kafka")?.status == .up)

        try proxy.restore()
        try await Task.sleep(for: .milliseconds(300))
        let after = try await decide(phase(3))
        #expect(after.filter(\.featuresDegraded).count == 0)
        #expect(after.map(\.outcome) == Array(repeating: .approve, count: 40))
        #expect(await harness.health("redis")?.status == .up)
        try await harness.stop()
    }
}
