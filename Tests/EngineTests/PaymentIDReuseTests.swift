@testable import Engine
import Features
import FraudCore
import Logging
import MetricsTestKit
import Redis
import Testing
import LocalStackSupport

private let decidedAt = EventTime(millisecondsSinceEpoch: 1_764_403_260_000)
private let reuseWarning = "payment_id reused for a different event: the id keeps the decision made for the first one, and this event gets none of its own"

/// An engine over in-memory windows with `cache`, counting into `metrics` and logging into `logs`.
private func reuseEngine(cache: any DecisionCache, metrics: TestMetrics, logs: LogCapture) throws -> DecisionEngine {
    let components = try Components.standard()
    let router = FeatureRouter(local: CountingStore(), shared: nil, storeOf: { _ in .memory }, probeInterval: .zero, logger: Logger(label: "test"))
    return DecisionEngine(
        rules: { components.rules }, model: { components.model }, features: router, cache: cache, degradedPolicy: .decide,
        metrics: EngineMetrics(factory: metrics), wallClock: { decidedAt }, logger: logs.logger
    )
}

private func reuses(_ metrics: TestMetrics) throws -> Int64 {
    try metrics.expectCounter("waqiti_payment_id_reuses_total").totalValue
}

/// Every answer for a payment_id is checked against the event it answers by the event's
/// fingerprint, wherever the answer comes from. Same `occurred_at` as the first event throughout:
/// these reuses were invisible when only the time was compared.
@Suite("A payment_id reused for another event")
struct PaymentIDReuseTests {
    @Test("answered from the decision cache: another amount at the same time is counted; the redelivery is not")
    func fromCache() async throws {
        let (metrics, logs) = (TestMetrics(), LogCapture())
        let engine = try reuseEngine(cache: InMemoryDecisionCache(capacity: 100), metrics: metrics, logs: logs)
        let first = try await engine.decide([payment("p1"), payment("p2")])
        #expect(first.map(\.eventFingerprint) == [EventFingerprint.of(payment("p1")), EventFingerprint.of(payment("p2"))])
        let again = try await engine.decide([payment("p1"), payment("p2", minor: 900_000), payment("p2", card: "card-9")])
        #expect(again == [first[0], first[1], first[1]], "the first decision stands")
        #expect(try reuses(metrics) == 2)
        let warnings = logs.all.filter { $0.message == reuseWarning }
        #expect(warnings.map(\.metadata) == [[
            "payment_id": "p2", "event_time": "2025-11-29T08:00:00.000Z", "decided_event_time": "2025-11-29T08:00:00.000Z", "in_batch": "2",
        ]])
    }

    @Test("copies in one batch: a copy with other content is counted, an identical copy is not; a dry run counts nothing")
    func withinBatch() async throws {
        let (metrics, logs) = (TestMetrics(), LogCapture())
        let engine = try reuseEngine(cache: InMemoryDecisionCache(capacity: 100), metrics: metrics, logs: logs)
        _ = try await engine.decide([payment("q1"), payment("q1", account: "acct-2")], mode: .readOnly)
        #expect(try reuses(metrics) == 0)
        let decisions = try await engine.decide([payment("q1"), payment("q1"), payment("q1", account: "acct-2"), payment("q2")])
        #expect(decisions[1] == decisions[0] && decisions[2] == decisions[0])
        #expect(try reuses(metrics) == 1)
    }

    @Test("answered by an earlier batch still being finished (overlapped batches): counted the same")
    func fromHandoff() async throws {
        let (metrics, logs) = (TestMetrics(), LogCapture())
        let engine = try reuseEngine(cache: InMemoryDecisionCache(capacity: 100), metrics: metrics, logs: logs)
        let batch1 = try await engine.prepare([payment("h1"), payment("h2")])
        let batch2 = try await engine.prepare([payment("h1"), payment("h2", minor: 1)])
        let decided1 = await engine.finish(batch1)
        let decided2 = await engine.finish(batch2)
        #expect(decided2 == decided1)
        #expect(try reuses(metrics) == 1)
    }
}

@Suite("A payment_id reused across engine instances sharing Redis", .enabled(if: LocalStack.isEnabled, LocalStack.skipMessage))
struct PaymentIDReuseRedisTests {
    private static func instance(_ configuration: RedisConfiguration, metrics: TestMetrics, logs: LogCapture = LogCapture()) throws -> DecisionEngine {
        let cache = RedisDecisionCache(
            store: RedisDecisionStore(configuration: configuration), local: InMemoryDecisionCache(capacity: 100),
            horizon: .seconds(600), probeInterval: .zero, logger: Logger(label: "test")
        )
        return try reuseEngine(cache: cache, metrics: metrics, logs: logs)
    }

    /// Runs `body` with a payment id of its own (`stem` and a run id) and a connection to the
    /// local stack's Redis; the id's decision is deleted afterwards.
    private static func withPayment(_ stem: String, _ body: (RedisConfiguration, String, RedisConnection) async throws -> Void) async throws {
        let configuration = try RedisConfiguration(url: try LocalStack.required("WAQITI_REDIS_URL"))
        let id = stem + "\(LocalStack.runID())"
        let connection = try RedisConnection(configuration: configuration)
        defer { connection.disconnect() }
        defer { _ = try? connection.send(RedisCommand("DEL", RedisDecisionCache.keyPrefix + id)) }
        try await body(configuration, id, connection)
    }

    private static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    @Test("Redis keeps the fingerprint; another instance counts the reuse (same time, other amount) and not the redelivery")
    func acrossInstances() async throws {
        try await Self.withPayment("it-reuse-") { configuration, id, connection in
            let (metricsA, metricsB) = (TestMetrics(), TestMetrics())
            let first = try await Self.instance(configuration, metrics: metricsA).decide([payment(id)])
            let stored = try connection.send(RedisCommand("GET", RedisDecisionCache.keyPrefix + id))
            let text = try #require(stored.string)
            #expect(text.hasSuffix(#","event_fingerprint":"\#(Self.hex(EventFingerprint.of(payment(id))))"}"#), "\(text)")

            let other = try Self.instance(configuration, metrics: metricsB)
            #expect(try await other.decide([payment(id)]) == first)
            #expect(try reuses(metricsB) == 0)
            #expect(try await other.decide([payment(id, minor: 7_700)]) == first)
            #expect(try reuses(metricsB) == 1)
            #expect(try reuses(metricsA) == 0)
        }
    }

    @Test("two instances decide one id for two events at once: the one whose decision does not stand counts the reuse")
    func raceLost() async throws {
        try await Self.withPayment("it-reuse-race-") { configuration, id, _ in
            let (metricsA, metricsB) = (TestMetrics(), TestMetrics())
            let (a, b) = (try Self.instance(configuration, metrics: metricsA), try Self.instance(configuration, metrics: metricsB))
            // B looks the id up (nothing yet) and computes its features; A decides and remembers first.
            let prepared = try await b.prepare([payment(id, minor: 123)], mode: .update, receivedAt: .now, overlapping: false)
            let decidedByA = try await a.decide([payment(id)])
            #expect(await b.finish(prepared) == decidedByA, "A's decision stands for both")
            #expect(try reuses(metricsB) == 1)
            #expect(try reuses(metricsA) == 0)
        }
    }

    @Test("a decision remembered without a fingerprint (an older engine) falls back to the event time")
    func legacyValue() async throws {
        try await Self.withPayment("it-reuse-legacy-") { configuration, id, connection in
            var legacy = cachedDecision(id, .review)
            legacy.eventTime = payment(id).occurredAt
            let value = String(decoding: DecisionEncoder().encode(legacy), as: UTF8.self)
            try connection.send(RedisCommand("SET", RedisDecisionCache.keyPrefix + id, value, "PX", "600000"))
            let metrics = TestMetrics()
            let engine = try Self.instance(configuration, metrics: metrics)
            #expect(try await engine.decide([payment(id, minor: 1)]) == [legacy])
            #expect(try reuses(metrics) == 0, "same time, fingerprint unknown: taken for a redelivery")
            #expect(try await engine.decide([payment(id, at: 1_764_403_200_001)]) == [legacy])
            #expect(try reuses(metrics) == 1)
        }
    }
}
