import Prometheus

/// What the payment service exports on /metrics.
public struct PaymentMetrics: Sendable {
    let statusCounters: [PaymentStatus: Counter]
    let decisionCounters: [PaymentStatus: Counter]
    let duplicates: Counter
    /// Payments left `received` that the resumer carried on (`PaymentResumer`).
    let resumed: Counter
    let decisionLatency: DurationHistogram
    let synchronousCounters: [SynchronousScoringResult: Counter]

    /// How a synchronous scoring attempt ended.
    enum SynchronousScoringResult: String, CaseIterable {
        /// The engine answered in time; the client got the final status.
        case decided
        /// Timeout or error; the payment continued on the Kafka path.
        case fellBack = "fell_back"
    }

    public init(registry: PrometheusCollectorRegistry) {
        statusCounters = Dictionary(uniqueKeysWithValues: PaymentStatus.allCases.map {
            ($0, registry.makeCounter(descriptor: .init(metricName: "waqiti_payments_submitted_total", unitName: "", helpText: "New payments by the status their submission returned."), labels: [("status", $0.rawValue)]))
        })
        decisionCounters = Dictionary(uniqueKeysWithValues: PaymentStatus.allCases.map {
            ($0, registry.makeCounter(descriptor: .init(metricName: "waqiti_payment_decisions_consumed_total", unitName: "", helpText: "Decisions consumed by the payment service, by the status they map to."), labels: [("status", $0.rawValue)]))
        })
        duplicates = registry.makeCounter(descriptor: .init(metricName: "waqiti_payments_duplicate_requests_total", unitName: "", helpText: "Requests answered from the idempotency store."))
        resumed = registry.makeCounter(descriptor: .init(metricName: "waqiti_payments_resumed_total", unitName: "", helpText: "Payments left received (no retry came) that the service carried on itself."))
        decisionLatency = registry.makeDurationHistogram(descriptor: .init(metricName: "waqiti_payment_decision_latency_seconds", unitName: "", helpText: "From publishing a payment to applying its decision."),
            buckets: [.milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
                      .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10)])
        synchronousCounters = Dictionary(uniqueKeysWithValues: SynchronousScoringResult.allCases.map {
            ($0, registry.makeCounter(descriptor: .init(metricName: "waqiti_payment_synchronous_scoring_total", unitName: "", helpText: "Synchronous POST /v1/score attempts, by result."), labels: [("result", $0.rawValue)]))
        })
    }

    /// The status a new payment had when its submission returned.
    func submitted(_ status: PaymentStatus) -> Counter { statusCounters[status]! }
    func decided(_ status: PaymentStatus) -> Counter { decisionCounters[status]! }
    func synchronousScoring(_ result: SynchronousScoringResult) -> Counter { synchronousCounters[result]! }
}
