import CoreMetrics
import FraudCore
import Metrics
import Synchronization

/// The engine's Prometheus series, recorded through swift-metrics (the Server bootstraps the
/// Prometheus backend; with no backend they cost a no-op call). Names follow Prometheus
/// conventions in base units. Counters are incremented once per batch, not once per event.
public final class EngineMetrics: Sendable {
    /// The pipeline and scoring stages timed separately.
    public enum Stage: String, Sendable, CaseIterable {
        case decode, features, model, rules, produce, commit
        /// From receipt of the batch to its decisions.
        case decide
    }

    private let decisionCounters: [Outcome: Counter]
    private let duplicateEvents: Counter
    private let deadLetterEvents: Counter
    private let stageTimers: [Stage: Timer]
    private let degradedGauge: Gauge
    /// Per rule: its Prometheus counter and the hits since start (for `GET /v1/rules`).
    private let ruleHits = Mutex<[String: (counter: Counter, total: Int)]>([:])

    public init() {
        var decisions: [Outcome: Counter] = [:]
        for outcome in Outcome.allCases {
            decisions[outcome] = Counter(label: "waqiti_events_total", dimensions: [("outcome", outcome.rawValue)])
        }
        decisionCounters = decisions
        duplicateEvents = Counter(label: "waqiti_events_total", dimensions: [("outcome", "duplicate")])
        deadLetterEvents = Counter(label: "waqiti_events_total", dimensions: [("outcome", "dead_letter")])
        var timers: [Stage: Timer] = [:]
        for stage in Stage.allCases {
            timers[stage] = Timer(label: "waqiti_stage_latency_seconds", dimensions: [("stage", stage.rawValue)], preferredDisplayUnit: .seconds)
        }
        stageTimers = timers
        degradedGauge = Gauge(label: "waqiti_features_degraded")
    }

    /// Counts a batch's fresh decisions by outcome and its rule hits by rule name.
    func recordDecisions(_ decisions: some Sequence<Decision>) {
        var outcomes: [Outcome: Int] = [:]
        var hits: [String: Int] = [:]
        for decision in decisions {
            outcomes[decision.outcome, default: 0] += 1
            for case .rule(let rule) in decision.reasons { hits[rule.rule, default: 0] += 1 }
        }
        for (outcome, count) in outcomes { decisionCounters[outcome]?.increment(by: count) }
        guard !hits.isEmpty else { return }
        let counters = ruleHits.withLock { table in
            hits.map { rule, count in
                let counter = table[rule]?.counter ?? Counter(label: "waqiti_rule_hits_total", dimensions: [("rule", rule)])
                table[rule] = (counter, (table[rule]?.total ?? 0) + count)
                return (counter, count)
            }
        }
        for (counter, count) in counters { counter.increment(by: count) }
    }

    /// Matches per rule name since the engine started, shadow rules included.
    public var ruleHitCounts: [String: Int] {
        ruleHits.withLock { table in table.mapValues(\.total) }
    }

    func recordDuplicates(_ count: Int) {
        if count > 0 { duplicateEvents.increment(by: count) }
    }

    public func recordDeadLetters(_ count: Int) {
        if count > 0 { deadLetterEvents.increment(by: count) }
    }

    public func record(_ stage: Stage, _ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        stageTimers[stage]?.recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }

    func recordSharedStore(_ state: SharedStoreState) {
        if case .degraded = state { degradedGauge.record(1) } else { degradedGauge.record(0) }
    }
}
