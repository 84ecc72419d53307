import Engine
import Features
import FraudCore
import Hummingbird
import HummingbirdTesting
import Logging
import Prometheus
import Rules
import Server
import Testing

/// A Redis store that is down: every batch degrades.
private struct UnreachableStore: FeatureStore {
    func process(_ events: [PaymentEvent], plan: FeaturePlan, mode: StoreMode, into out: inout [Double]) async throws -> BatchReport {
        throw FeatureStoreError.unavailable("connection refused")
    }
}

private func event(_ id: String, minor: Int64) -> PaymentEvent {
    PaymentEvent(
        paymentID: id, occurredAt: EventTime(millisecondsSinceEpoch: 1_764_403_200_000), accountID: "acct-1", cardFingerprint: "card-1",
        deviceID: "dev-1", ip: "203.0.113.7", merchantID: "m-1", mcc: "5411", amount: Money(minorUnits: minor, currency: .usd),
        cardCountry: "US", ipCountry: "US", channel: .ecom, type: .payment
    )
}

@Suite("GET /metrics")
struct MetricsExportTests {
    @Test("exports events by outcome, rule hits, stage histograms, dead letters by kind, consumer lag, degraded state")
    func exportedSeries() async throws {
        let registry = PrometheusCollectorRegistry()
        let metrics = EngineMetrics(factory: PrometheusExport.factory(for: registry))
        let rules = try RuleSet.compile(RulesSource(path: "metrics.rules", text: """
        version "metrics-1"
        rule big: decline +50 if amount > 1000.00 USD
        rule burst: review +5 if count(card_fingerprint, 10m) >= 100
        """) { _ in [] })
        let router = FeatureRouter(
            local: InMemoryFeatureStore(), shared: UnreachableStore(), storeOf: { _ in .redis }, probeInterval: .seconds(60),
            logger: Logger(label: "test"), onStateChange: { metrics.recordSharedStore($0) }
        )
        let engine = DecisionEngine(
            rules: { rules }, model: { nil }, features: router, cache: InMemoryDecisionCache(capacity: 10),
            degradedPolicy: .decide, metrics: metrics
        )
        _ = try await engine.decide([event("p1", minor: 5_000), event("p2", minor: 200_000)])
        _ = try await engine.decide([event("p1", minor: 5_000)])
        // Dry runs of a remembered id and of a batch with a copy count as no duplicate (nor anything else).
        _ = try await engine.decide([event("p1", minor: 5_000)], mode: .readOnly)
        _ = try await engine.decide([event("p9", minor: 5_000), event("p9", minor: 5_000)], mode: .readOnly)
        metrics.recordDeadLetters(kinds: ["invalid_json", "oversized", "invalid_json"])
        metrics.recordConsumerLag([("payments", 0, 5), ("payments", 3, 0)])

        var configuration = EngineConfiguration()
        configuration.http.port = 0
        configuration.http.apiKeys = [APIKey(name: "prometheus", scopes: [.metricsRead], key: "metrics-key-0123456789")]
        let app = FraudHTTPServer.makeApplication(engine: engine, configuration: configuration, health: [], registry: registry, logger: Logger(label: "test"))
        try await app.test(.router) { client in
            let headers: HTTPFields = [.init("X-API-Key")!: "metrics-key-0123456789"]
            try await client.execute(uri: "/metrics", method: .get, headers: headers) { response in
                #expect(response.status == .ok)
                let lines = Set(String(buffer: response.body).split(separator: "\n").map(String.init))
                let expected = [
                    #"waqiti_events_total{outcome="approve"} 1"#,
                    #"waqiti_events_total{outcome="decline"} 1"#,
                    #"waqiti_events_total{outcome="review"} 0"#,
                    #"waqiti_events_total{outcome="duplicate"} 1"#,
                    #"waqiti_events_total{outcome="dead_letter"} 3"#,
                    // Registered at start: an alert on its increase needs the series before the first reuse.
                    "waqiti_payment_id_reuses_total 0",
                    #"waqiti_dead_letters_total{kind="invalid_json"} 2"#,
                    #"waqiti_dead_letters_total{kind="oversized"} 1"#,
                    #"waqiti_rule_hits_total{rule="big"} 1"#,
                    // The first batch and the dry run with a fresh id are timed (the others decide nothing new).
                    #"waqiti_stage_latency_seconds_count{stage="features"} 2"#,
                    #"waqiti_stage_latency_seconds_count{stage="rules"} 2"#,
                    #"waqiti_stage_latency_seconds_count{stage="decide"} 2"#,
                    #"waqiti_consumer_lag_messages{topic="payments",partition="0"} 5.0"#,
                    #"waqiti_consumer_lag_messages{topic="payments",partition="3"} 0.0"#,
                    "waqiti_features_degraded 1.0",
                    "waqiti_decision_cache_degraded 0.0",
                ]
                #expect(expected.filter { !lines.contains($0) } == [])
            }
            // A partition revoked from this instance loses its series.
            metrics.recordConsumerLag([("payments", 3, 12)])
            try await client.execute(uri: "/metrics", method: .get, headers: headers) { response in
                let lag = String(buffer: response.body).split(separator: "\n").filter { $0.hasPrefix("waqiti_consumer_lag_messages{") }
                #expect(lag == [#"waqiti_consumer_lag_messages{topic="payments",partition="3"} 12.0"#])
            }
        }
    }
}
