import FraudCore

/// What a replay decided and, when the events carry labels, how well: the terminal summary and
/// `--summary-json` are two renderings of this value.
public struct ReplaySummary: Codable, Hashable, Sendable {
    /// Events decided (decoded input records; redelivered payment ids included).
    public var events: Int
    /// Of those, records whose payment id came earlier in the replay. Each counts in `events`
    /// only: every other count (outcomes, rules, labels, model) is of payments, at their first
    /// decision, and `payments` is `events - redelivered`.
    public var redelivered: Int
    /// Of the redelivered, records whose `payment_id` was decided for another event (other
    /// content: `Decision.wasMade(for:)`): one id given to two payments. Not decided, so absent from
    /// the decision files, and reported as `ReusedPaymentID`s; the replay's count of what `waqiti
    /// serve` counts in `waqiti_payment_id_reuses_total` and dead-letters as `payment_id_reused`.
    public var reusedPaymentIDs: Int
    /// Input records that did not decode (reported, never decided).
    public var rejected: Int
    /// Events decided but not added to the windows because they came later than the allowed
    /// lateness (`--lateness`) behind the newest event time seen: later events' features do not
    /// count them. Usually the input is not in event-time order.
    public var tooLate: Int
    /// Earliest and latest event time decided (RFC 3339), nil for an empty replay.
    public var firstEventTime: String?
    public var lastEventTime: String?
    /// Payments by the outcome of their first decision (redeliveries not counted again).
    public var outcomes: OutcomeCounts
    /// Every rule of the rule set in file order, then rules seen only in decisions, with hits.
    public var rules: [RuleHits]
    /// Decisions made on degraded features (a shared store was unreachable).
    public var featuresDegraded: Int
    /// Rule-set and model versions seen, in order of first use.
    public var rulesVersions: [String]
    public var modelVersions: [String]
    /// Present when at least one event carried a label.
    public var labels: LabelSummary?
    /// Present when a model scored the events and some were labeled.
    public var model: ModelSummary?
    public var timeline: [TimelineBucket]

    /// Distinct payments decided: what the outcome counts add up to.
    public var payments: Int { events - redelivered }

    private enum CodingKeys: String, CodingKey {
        case events, redelivered, reusedPaymentIDs = "reused_payment_ids", rejected, tooLate = "too_late", firstEventTime = "first_event_time", lastEventTime = "last_event_time"
        case outcomes, rules, featuresDegraded = "features_degraded", rulesVersions = "rules_versions"
        case modelVersions = "model_versions", labels, model, timeline
    }
}

/// One rule's matches, split by label so the rule's own precision is visible.
public struct RuleHits: Codable, Hashable, Sendable {
    public var rule: String
    public var action: RuleAction?
    public var shadow: Bool
    public var hits: Int
    public var fraudHits: Int
    public var legitHits: Int

    public init(rule: String, action: RuleAction?, shadow: Bool, hits: Int = 0, fraudHits: Int = 0, legitHits: Int = 0) {
        self.rule = rule
        self.action = action
        self.shadow = shadow
        self.hits = hits
        self.fraudHits = fraudHits
        self.legitHits = legitHits
    }

    /// Share of the rule's labeled hits that were fraud; nil when it hit no labeled event.
    public var precision: Double? {
        let labeled = fraudHits + legitHits
        return labeled == 0 ? nil : Double(fraudHits) / Double(labeled)
    }

    private enum CodingKeys: String, CodingKey {
        case rule, action, shadow, hits, fraudHits = "fraud_hits", legitHits = "legit_hits", precision
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        rule = try container.decode(String.self, forKey: .rule)
        action = try container.decodeIfPresent(String.self, forKey: .action).flatMap(RuleAction.init(rawValue:))
        shadow = try container.decode(Bool.self, forKey: .shadow)
        hits = try container.decode(Int.self, forKey: .hits)
        fraudHits = try container.decode(Int.self, forKey: .fraudHits)
        legitHits = try container.decode(Int.self, forKey: .legitHits)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(rule, forKey: .rule)
        try container.encode(action?.rawValue, forKey: .action)
        try container.encode(shadow, forKey: .shadow)
        try container.encode(hits, forKey: .hits)
        try container.encode(fraudHits, forKey: .fraudHits)
        try container.encode(legitHits, forKey: .legitHits)
        try container.encode(precision, forKey: .precision)
    }
}

/// Label-based quality of the decisions.
public struct LabelSummary: Codable, Hashable, Sendable {
    public var fraud: Int
    public var legit: Int
    public var unlabeled: Int
    public var confusion: ConfusionMatrix
    public var decline: FlagMetrics
    public var review: FlagMetrics
    /// Decline or review counted as caught: what the risk team acts on.
    public var declineOrReview: FlagMetrics
    /// Fraud money per currency (minor units): total, declined and sent to review.
    public var fraudAmounts: [CurrencyAmounts]
    /// Fraud events per `metadata.scenario` ("unspecified" when absent), sorted by scenario.
    public var scenarios: [ScenarioRecall]

    private enum CodingKeys: String, CodingKey {
        case fraud, legit, unlabeled, confusion, decline, review, declineOrReview = "decline_or_review"
        case fraudAmounts = "fraud_amounts", scenarios
    }
}

/// Fraud money of one currency, in its minor units (never converted: no rate is implied).
///
/// Sums are 128-bit: each amount is an `Int64`, so no input of fewer than 2^64 events can
/// overflow them (9,300 fraud payments of 10^15 JPY each summed past `Int64.max` and trapped).
public struct CurrencyAmounts: Codable, Hashable, Sendable {
    public var currency: String
    public var fraudMinor: Int128
    public var declinedMinor: Int128
    public var reviewedMinor: Int128

    public init(currency: String, fraudMinor: Int128 = 0, declinedMinor: Int128 = 0, reviewedMinor: Int128 = 0) {
        self.currency = currency
        self.fraudMinor = fraudMinor
        self.declinedMinor = declinedMinor
        self.reviewedMinor = reviewedMinor
    }

    /// Declined plus reviewed fraud money.
    public var caughtMinor: Int128 { declinedMinor + reviewedMinor }

    private enum CodingKeys: String, CodingKey {
        case currency, fraudMinor = "fraud_minor", declinedMinor = "declined_minor", reviewedMinor = "reviewed_minor", caughtMinor = "caught_minor"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        currency = try container.decode(String.self, forKey: .currency)
        fraudMinor = try container.decode(Int128.self, forKey: .fraudMinor)
        declinedMinor = try container.decode(Int128.self, forKey: .declinedMinor)
        reviewedMinor = try container.decode(Int128.self, forKey: .reviewedMinor)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(currency, forKey: .currency)
        try container.encode(fraudMinor, forKey: .fraudMinor)
        try container.encode(declinedMinor, forKey: .declinedMinor)
        try container.encode(reviewedMinor, forKey: .reviewedMinor)
        try container.encode(caughtMinor, forKey: .caughtMinor)
    }
}

/// How much of one fraud scenario the decisions caught.
public struct ScenarioRecall: Codable, Hashable, Sendable {
    public var scenario: String
    public var outcomes: OutcomeCounts

    public init(scenario: String, outcomes: OutcomeCounts = OutcomeCounts()) {
        self.scenario = scenario
        self.outcomes = outcomes
    }

    public var fraudEvents: Int { outcomes.total }
    /// Share of the scenario's events declined or reviewed.
    public var recall: Double? { fraudEvents == 0 ? nil : Double(outcomes.decline + outcomes.review) / Double(fraudEvents) }
    /// Share of the scenario's events declined.
    public var declineRecall: Double? { fraudEvents == 0 ? nil : Double(outcomes.decline) / Double(fraudEvents) }

    private enum CodingKeys: String, CodingKey {
        case scenario, outcomes, fraudEvents = "fraud_events", recall, declineRecall = "decline_recall"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        scenario = try container.decode(String.self, forKey: .scenario)
        outcomes = try container.decode(OutcomeCounts.self, forKey: .outcomes)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(scenario, forKey: .scenario)
        try container.encode(outcomes, forKey: .outcomes)
        try container.encode(fraudEvents, forKey: .fraudEvents)
        try container.encode(recall, forKey: .recall)
        try container.encode(declineRecall, forKey: .declineRecall)
    }
}

/// Ranking quality of the model score against the labels (scores quantized to 1e-4).
public struct ModelSummary: Codable, Hashable, Sendable {
    public var scoredEvents: Int
    public var aucROC: Double?
    public var averagePrecision: Double?

    private enum CodingKeys: String, CodingKey {
        case scoredEvents = "scored_events", aucROC = "auc_roc", averagePrecision = "average_precision"
    }
}
