/// The engine's verdict on one payment, published on `fraud-decisions` keyed by payment id.
public struct Decision: Hashable, Sendable {
    public var paymentID: String
    public var outcome: Outcome
    /// Probability of fraud from the model, 0...1 (0 when no model is configured).
    public var modelScore: Double
    /// Sum of the points of every matched, non-shadow rule.
    public var riskPoints: Int
    /// Every matched rule in file order (shadow rules flagged), then the model's top contributions.
    public var reasons: [Reason]
    /// Content hash of the rules and lists, plus the file's own version label.
    public var rulesVersion: String
    public var modelVersion: String
    /// True when some feature could not be read from its configured store (e.g. Redis down) and
    /// the engine used its local windows instead.
    public var featuresDegraded: Bool
    public var eventTime: EventTime
    public var decidedAt: EventTime
    /// Engine time from receiving the event to producing the decision, in microseconds.
    public var latencyMicros: Int64
    /// `EventFingerprint` of the event this decision was made for; nil when unknown (decoded from
    /// `fraud-decisions`, or remembered in Redis by an engine before the fingerprint existed).
    /// Kept by the decision cache, which compares it with every event it answers, and never
    /// published: it describes the event, not the decision, so it takes no part in `==` either
    /// (a decision read back from the topic equals the one the engine made).
    public var eventFingerprint: UInt64?

    public init(
        paymentID: String, outcome: Outcome, modelScore: Double, riskPoints: Int, reasons: [Reason],
        rulesVersion: String, modelVersion: String, featuresDegraded: Bool,
        eventTime: EventTime, decidedAt: EventTime, latencyMicros: Int64, eventFingerprint: UInt64? = nil
    ) {
        self.paymentID = paymentID
        self.outcome = outcome
        self.modelScore = modelScore
        self.riskPoints = riskPoints
        self.reasons = reasons
        self.rulesVersion = rulesVersion
        self.modelVersion = modelVersion
        self.featuresDegraded = featuresDegraded
        self.eventTime = eventTime
        self.decidedAt = decidedAt
        self.latencyMicros = latencyMicros
        self.eventFingerprint = eventFingerprint
    }

    public static func == (lhs: Decision, rhs: Decision) -> Bool {
        lhs.paymentID == rhs.paymentID && lhs.outcome == rhs.outcome && lhs.modelScore == rhs.modelScore
            && lhs.riskPoints == rhs.riskPoints && lhs.reasons == rhs.reasons && lhs.rulesVersion == rhs.rulesVersion
            && lhs.modelVersion == rhs.modelVersion && lhs.featuresDegraded == rhs.featuresDegraded
            && lhs.eventTime == rhs.eventTime && lhs.decidedAt == rhs.decidedAt && lhs.latencyMicros == rhs.latencyMicros
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(paymentID)
        hasher.combine(outcome)
        hasher.combine(modelScore)
        hasher.combine(riskPoints)
        hasher.combine(reasons)
        hasher.combine(rulesVersion)
        hasher.combine(modelVersion)
        hasher.combine(featuresDegraded)
        hasher.combine(eventTime)
        hasher.combine(decidedAt)
        hasher.combine(latencyMicros)
    }

    /// Whether `event` is the one this decision was made for, as far as the decision knows: the
    /// same fingerprint, or, when the fingerprint is unknown, the same event time.
    public func wasMade(for event: PaymentEvent) -> Bool {
        guard let eventFingerprint else { return eventTime == event.occurredAt }
        return eventFingerprint == EventFingerprint.of(event)
    }
}

public enum Outcome: String, Hashable, Sendable, CaseIterable, Comparable {
    case approve, review, decline

    /// Severity order used for summaries; the rules' precedence is defined in the Rules module.
    public static func < (lhs: Outcome, rhs: Outcome) -> Bool {
        lhs.severity < rhs.severity
    }

    private var severity: Int {
        switch self {
        case .approve: 0
        case .review: 1
        case .decline: 2
        }
    }
}

/// The action a rule asks for when it matches.
public enum RuleAction: String, Hashable, Sendable, CaseIterable {
    case allow, review, decline
}

/// Why a decision came out the way it did: one matched rule, or one model contribution.
public enum Reason: Hashable, Sendable {
    case rule(RuleReason)
    case model(ModelContribution)
}

public struct RuleReason: Hashable, Sendable {
    public var rule: String
    public var action: RuleAction
    public var points: Int
    /// Shadow rules are evaluated and reported but never change the decision.
    public var shadow: Bool
    /// The feature and field values the rule's condition read, in the order it read them.
    public var values: [NamedValue]
    /// The rule's reason template with values filled in, if the rule has one.
    public var message: String?

    public init(rule: String, action: RuleAction, points: Int, shadow: Bool, values: [NamedValue], message: String? = nil) {
        self.rule = rule
        self.action = action
        self.points = points
        self.shadow = shadow
        self.values = values
        self.message = message
    }
}

public struct ModelContribution: Hashable, Sendable {
    /// The model feature's DSL expression, e.g. `count(card_fingerprint,1h)`.
    public var feature: String
    /// Raw feature value before standardization.
    public var value: Double
    /// weight × standardized value: this feature's share of the logit.
    public var contribution: Double

    public init(feature: String, value: Double, contribution: Double) {
        self.feature = feature
        self.value = value
        self.contribution = contribution
    }
}

public struct NamedValue: Hashable, Sendable {
    public var name: String
    public var value: Value

    public init(name: String, value: Value) {
        self.name = name
        self.value = value
    }
}

/// A value a rule or feature produced, as it appears in reasons and feature output.
public enum Value: Hashable, Sendable, CustomStringConvertible {
    case missing
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case money(Money)

    public var description: String {
        switch self {
        case .missing: "missing"
        case .bool(let b): String(b)
        case .int(let i): String(i)
        case .double(let d): String(d)
        case .string(let s): "\"\(s)\""
        case .money(let m): m.description
        }
    }
}
