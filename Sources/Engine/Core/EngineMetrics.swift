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

    private let factory: any MetricsFactory
    /// Indexed by `Outcome.allCases` / `Stage.allCases` order: an HTTP request records a batch
    /// of one, so a dictionary's hash of the key per record was a visible share of it.
    private let decisionCounters: [Counter]
    private let duplicateEvents: Counter
    private let deadLetterEvents: Counter
    private let reusedPaymentIDs: Counter
    private let stageTimers: [Timer]
    private let degradedGauge: Gauge
    private let decisionCacheDegradedGauge: Gauge
    /// Per rule: its Prometheus counter and the hits since start (for `GET /v1/rules`).
    private let ruleHits = Mutex<[String: (counter: Counter, total: Int)]>([:])
    private let deadLetterKinds = Mutex<[String: Counter]>([:])
    /// `waqiti_messages_refused_total` per (kind, code): few pairs, created on first use.
    private let refusedMessages = Mutex<[String: Counter]>([:])
    /// One gauge per partition this instance owns; a revoked partition's gauge is removed.
    private let lagGauges = Mutex<[PartitionKey: Gauge]>([:])

    private struct PartitionKey: Hashable {
        var topic: String
        var partition: Int32
    }

    /// - Parameter factory: where the series are registered; the process-wide swift-metrics
    ///   backend unless a test passes its own.
    public init(factory: any MetricsFactory = MetricsSystem.factory) {
        self.factory = factory
        precondition(Stage.allCases.enumerated().allSatisfy { $0.offset == $0.element.index }, "Stage.index must follow allCases")
        precondition(Outcome.allCases.enumerated().allSatisfy { $0.offset == $0.element.index }, "Outcome.index must follow allCases")
        decisionCounters = Outcome.allCases.map { outcome in
            Counter(label: "waqiti_events_total", dimensions: [("outcome", outcome.rawValue)], factory: factory)
        }
        duplicateEvents = Counter(label: "waqiti_events_total", dimensions: [("outcome", "duplicate")], factory: factory)
        deadLetterEvents = Counter(label: "waqiti_events_total", dimensions: [("outcome", "dead_letter")], factory: factory)
        reusedPaymentIDs = Counter(label: "waqiti_payment_id_reuses_total", factory: factory)
        stageTimers = Stage.allCases.map { stage in
            Timer(label: "waqiti_stage_latency_seconds", dimensions: [("stage", stage.rawValue)], preferredDisplayUnit: .seconds, factory: factory)
        }
        // Both gauges exist from the start at 0, so a dashboard sees "healthy", not "no data".
        degradedGauge = Gauge(label: "waqiti_features_degraded", factory: factory)
        degradedGauge.record(0)
        decisionCacheDegradedGauge = Gauge(label: "waqiti_decision_cache_degraded", factory: factory)
        decisionCacheDegradedGauge.record(0)
    }

    /// Counts a batch's fresh decisions by outcome and its rule hits by rule name.
    func recordDecisions(_ decisions: some Sequence<Decision>) {
        // Outcomes by a switch, not a dictionary: no hashing per decision.
        var approve = 0, review = 0, decline = 0
        var hits: [String: Int] = [:]
        for decision in decisions {
            switch decision.outcome {
            case .approve: approve += 1
            case .review: review += 1
            case .decline: decline += 1
            }
            for case .rule(let rule) in decision.reasons { hits[rule.rule, default: 0] += 1 }
        }
        for (outcome, count) in [(Outcome.approve, approve), (.review, review), (.decline, decline)] where count > 0 {
            decisionCounters[outcome.index].increment(by: count)
        }
        guard !hits.isEmpty else { return }
        let counters = ruleHits.withLock { table in
            hits.map { rule, count in
                let counter = table[rule]?.counter ?? Counter(label: "waqiti_rule_hits_total", dimensions: [("rule", rule)], factory: factory)
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

    /// Events answered with a decision made for another event with their `payment_id`
    /// (`Decision.wasMade(for:)`): one id used for two payments.
    func recordReusedPaymentIDs(_ count: Int) {
        if count > 0 { reusedPaymentIDs.increment(by: count) }
    }

    /// Counts dead letters by kind (`invalid_json`, `oversized`, …) and, unless `countingEvents`
    /// is false (events the engine already counted under another outcome), in
    /// `waqiti_events_total{outcome="dead_letter"}`.
    public func recordDeadLetters(kinds: some Sequence<String>, countingEvents: Bool = true) {
        var counts: [String: Int] = [:]
        for kind in kinds { counts[kind, default: 0] += 1 }
        guard !counts.isEmpty else { return }
        if countingEvents { deadLetterEvents.increment(by: counts.values.reduce(0, +)) }
        let counters = deadLetterKinds.withLock { table in
            counts.map { kind, count in
                let counter = table[kind] ?? Counter(label: "waqiti_dead_letters_total", dimensions: [("kind", kind)], factory: factory)
                table[kind] = counter
                return (counter, count)
            }
        }
        for (counter, count) in counters { counter.increment(by: count) }
    }

    /// Counts a decision or dead letter the broker or librdkafka refused for good (too large,
    /// malformed): published nowhere, logged in full instead. Any increase needs a look.
    /// - Parameters:
    ///   - kind: `decision` or `dead_letter`.
    ///   - code: librdkafka's error name, e.g. `MSG_SIZE_TOO_LARGE`.
    public func recordRefusedMessage(kind: String, code: String) {
        let counter = refusedMessages.withLock { table in
            let name = kind + "\u{0}" + code
            let counter = table[name] ?? Counter(label: "waqiti_messages_refused_total", dimensions: [("kind", kind), ("code", code)], factory: factory)
            table[name] = counter
            return counter
        }
        counter.increment()
    }

    /// Sets `waqiti_consumer_lag_messages{topic,partition}` for exactly the given partitions: those this
    /// instance owns now. Partitions no longer in the list lose their series.
    public func recordConsumerLag(_ lags: [(topic: String, partition: Int32, lag: Int64)]) {
        let (update, removed) = lagGauges.withLock { gauges in
            var update: [(Gauge, Int64)] = []
            var current = Set<PartitionKey>()
            for entry in lags {
                let key = PartitionKey(topic: entry.topic, partition: entry.partition)
                current.insert(key)
                let gauge = gauges[key] ?? Gauge(
                    label: "waqiti_consumer_lag_messages", dimensions: [("topic", entry.topic), ("partition", String(entry.partition))], factory: factory
                )
                gauges[key] = gauge
                update.append((gauge, entry.lag))
            }
            let removed = gauges.keys.filter { !current.contains($0) }.compactMap { gauges.removeValue(forKey: $0) }
            return (update, removed)
        }
        for (gauge, lag) in update { gauge.record(lag) }
        for gauge in removed { gauge.destroy() }
    }

    func recordDecisionCache(degraded: Bool) {
        decisionCacheDegradedGauge.record(degraded ? 1 : 0)
    }

    public func record(_ stage: Stage, _ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        stageTimers[stage.index].recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }

    public func recordSharedStore(_ state: SharedStoreState) {
        if case .degraded = state { degradedGauge.record(1) } else { degradedGauge.record(0) }
    }
}

extension EngineMetrics.Stage {
    /// Position in `allCases`.
    fileprivate var index: Int {
        switch self {
        case .decode: 0
        case .features: 1
        case .model: 2
        case .rules: 3
        case .produce: 4
        case .commit: 5
        case .decide: 6
        }
    }
}

extension Outcome {
    /// Position in `allCases`.
    fileprivate var index: Int {
        switch self {
        case .approve: 0
        case .review: 1
        case .decline: 2
        }
    }
}
