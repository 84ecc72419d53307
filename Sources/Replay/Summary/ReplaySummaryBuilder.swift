import FraudCore

/// A rule as the summary lists it before it has matched anything (from the rule set's file order).
public struct RuleDescriptor: Hashable, Sendable {
    public var name: String
    public var action: RuleAction
    public var shadow: Bool

    public init(name: String, action: RuleAction, shadow: Bool) {
        self.name = name
        self.action = action
        self.shadow = shadow
    }
}

/// Accumulates (event, decision) pairs in input order into a `ReplaySummary`, in memory
/// proportional to the number of rules, scenarios, currencies and minutes, not events.
///
/// Every record counts in `events`; a redelivery (the caller says which records repeat a payment
/// id given before, `FirstDeliveries`) counts in `redelivered` and nowhere else: outcomes, rule hits, degraded decisions, the timeline, the
/// label metrics and the score histogram count each payment once, at its first decision.
public struct ReplaySummaryBuilder: Sendable {
    public private(set) var scores = ScoreHistogram()
    private var events = 0
    private var redelivered = 0
    private var reusedPaymentIDs = 0
    private var rejected = 0
    private var tooLate = 0
    private var first: EventTime?
    private var last: EventTime?
    private var outcomes = OutcomeCounts()
    private var rules: [RuleHits]
    private var ruleIndex: [String: Int] = [:]
    private var degraded = 0
    private var rulesVersions: [String] = []
    private var modelVersions: [String] = []
    private var confusion = ConfusionMatrix()
    private var unlabeled = 0
    private var amounts: [Currency: CurrencyAmounts] = [:]
    private var scenarios: [String: OutcomeCounts] = [:]
    private var scored = 0
    private var timeline = DecisionTimeline()

    /// The scenario name used for fraud events without `metadata.scenario`.
    public static let unspecifiedScenario = "unspecified"

    /// - Parameter rules: the rule set's rules in file order, listed even if they never match.
    public init(rules: [RuleDescriptor] = []) {
        self.rules = []
        for rule in rules where ruleIndex[rule.name] == nil {
            ruleIndex[rule.name] = self.rules.count
            self.rules.append(RuleHits(rule: rule.name, action: rule.action, shadow: rule.shadow))
        }
    }

    /// Records input records that could not be decoded.
    public mutating func addRejected(_ count: Int) { rejected += count }

    /// Records events the feature store read but did not add to the windows: later than the
    /// allowed lateness (`PreparedBatch.tooLate`).
    public mutating func addTooLate(_ count: Int) { tooLate += count }

    /// - Parameter redelivery: the record's payment id came before (its decision is already counted).
    public mutating func add(_ event: PaymentEvent, _ decision: Decision, redelivery: Bool = false) {
        events += 1
        let time = event.occurredAt
        if first.map({ time < $0 }) ?? true { first = time }
        if last.map({ time > $0 }) ?? true { last = time }
        guard !redelivery else {
            redelivered += 1
            if !decision.wasMade(for: event) { reusedPaymentIDs += 1 }
            return
        }
        let outcome = decision.outcome
        outcomes[outcome] += 1
        if decision.featuresDegraded { degraded += 1 }
        if rulesVersions.last != decision.rulesVersion, !rulesVersions.contains(decision.rulesVersion) {
            rulesVersions.append(decision.rulesVersion)
        }
        let hasModel = decision.modelVersion != "none"
        if modelVersions.last != decision.modelVersion, !modelVersions.contains(decision.modelVersion) {
            modelVersions.append(decision.modelVersion)
        }
        let label = event.label
        timeline.add(time: time, outcome: outcome, isFraud: label == .fraud)

        for reason in decision.reasons {
            guard case .rule(let matched) = reason else { continue }
            let index = ruleIndex[matched.rule] ?? registerRule(matched)
            rules[index].hits += 1
            switch label {
            case .fraud: rules[index].fraudHits += 1
            case .legit: rules[index].legitHits += 1
            case nil: break
            }
        }

        switch label {
        case nil:
            unlabeled += 1
        case .legit:
            confusion.legit[outcome] += 1
            if hasModel { scores.add(score: decision.modelScore, isFraud: false); scored += 1 }
        case .fraud:
            confusion.fraud[outcome] += 1
            if hasModel { scores.add(score: decision.modelScore, isFraud: true); scored += 1 }
            addFraud(event, outcome)
        }
    }

    private mutating func registerRule(_ matched: RuleReason) -> Int {
        ruleIndex[matched.rule] = rules.count
        rules.append(RuleHits(rule: matched.rule, action: matched.action, shadow: matched.shadow))
        return rules.count - 1
    }

    private mutating func addFraud(_ event: PaymentEvent, _ outcome: Outcome) {
        let currency = event.amount.currency
        var amount = amounts[currency] ?? CurrencyAmounts(currency: currency.code)
        let minor = Int128(event.amount.minorUnits)
        amount.fraudMinor += minor
        switch outcome {
        case .decline: amount.declinedMinor += minor
        case .review: amount.reviewedMinor += minor
        case .approve: break
        }
        amounts[currency] = amount
        scenarios[event.metadata["scenario"] ?? Self.unspecifiedScenario, default: OutcomeCounts()][outcome] += 1
    }

    public func summary(maxTimelineBuckets: Int = 120) -> ReplaySummary {
        let labeled = confusion.fraud.total + confusion.legit.total
        var labels: LabelSummary?
        if labeled > 0 {
            labels = LabelSummary(
                fraud: confusion.fraud.total, legit: confusion.legit.total, unlabeled: unlabeled, confusion: confusion,
                decline: confusion.metrics(flagging: [.decline]), review: confusion.metrics(flagging: [.review]),
                declineOrReview: confusion.metrics(flagging: [.decline, .review]),
                fraudAmounts: amounts.values.sorted { $0.currency < $1.currency },
                scenarios: scenarios.map { ScenarioRecall(scenario: $0.key, outcomes: $0.value) }.sorted { $0.scenario < $1.scenario }
            )
        }
        let model = scored > 0 ? ModelSummary(scoredEvents: scored, aucROC: scores.aucROC, averagePrecision: scores.averagePrecision) : nil
        return ReplaySummary(
            events: events, redelivered: redelivered, reusedPaymentIDs: reusedPaymentIDs, rejected: rejected, tooLate: tooLate, firstEventTime: first.map(RFC3339.format), lastEventTime: last.map(RFC3339.format),
            outcomes: outcomes, rules: rules, featuresDegraded: degraded, rulesVersions: rulesVersions,
            modelVersions: modelVersions, labels: labels, model: model, timeline: timeline.buckets(maxBuckets: maxTimelineBuckets)
        )
    }
}
