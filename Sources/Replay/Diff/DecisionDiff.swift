import FraudCore

/// What changed between a baseline and a candidate configuration (rule set and/or model) over
/// the same events, decided in one pass.
public struct DecisionDiff: Codable, Hashable, Sendable {
    /// Payments compared: a redelivered payment is compared at its first delivery only.
    public var events: Int
    /// Events whose outcome differs.
    public var flipped: Int
    /// Events whose risk points differ (outcome changed or not).
    public var riskPointsChanged: Int
    /// Events whose model score differs.
    public var scoreChanged: Int
    /// Outcome flips from→to with counts and the first few payment ids, most severe pair first.
    public var flips: [Flip]
    /// Per rule whose match or effect (action, points, shadow) differs between the two on some
    /// event, with the flips it took part in; thresholds are rules here too.
    public var rules: [RuleChange]
    /// Flips per fraud scenario, plus "legit" and "unlabeled" groups.
    public var groups: [GroupFlips]

    private enum CodingKeys: String, CodingKey {
        case events, flipped, riskPointsChanged = "risk_points_changed", scoreChanged = "score_changed", flips, rules, groups
    }
}

/// One from→to outcome change.
public struct Flip: Codable, Hashable, Sendable {
    public var from: Outcome
    public var to: Outcome
    public var count: Int
    /// The first payment ids (input order) that flipped this way.
    public var examples: [String]

    public init(from: Outcome, to: Outcome, count: Int = 0, examples: [String] = []) {
        self.from = from
        self.to = to
        self.count = count
        self.examples = examples
    }

    // Outcomes as their wire names; coded here so the FraudCore type needs no Codable conformance.
    private enum CodingKeys: String, CodingKey { case from, to, count, examples }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        func outcome(_ key: CodingKeys) throws -> Outcome {
            let name = try container.decode(String.self, forKey: key)
            guard let outcome = Outcome(rawValue: name) else {
                throw DecodingError.dataCorruptedError(forKey: key, in: container, debugDescription: "'\(name)' is not approve, review or decline")
            }
            return outcome
        }
        from = try outcome(.from)
        to = try outcome(.to)
        count = try container.decode(Int.self, forKey: .count)
        examples = try container.decode([String].self, forKey: .examples)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(from.rawValue, forKey: .from)
        try container.encode(to.rawValue, forKey: .to)
        try container.encode(count, forKey: .count)
        try container.encode(examples, forKey: .examples)
    }
}

/// How one rule's matches differ between baseline and candidate.
public struct RuleChange: Codable, Hashable, Sendable {
    public var rule: String
    /// Events the rule matched (live) only under the baseline (rule removed, made stricter or
    /// made a shadow rule).
    public var onlyBaseline: Int
    /// Events the rule matched (live) only under the candidate (rule added or loosened).
    public var onlyCandidate: Int
    /// Events the rule matched under both with another action, points or shadow flag (the rule's
    /// effect was edited, e.g. `review +10` made `decline +10`).
    public var effectChanged: Int
    /// Flipped decisions where this rule's match or effect differs, from→to.
    public var flips: [Flip]

    public init(rule: String, onlyBaseline: Int, onlyCandidate: Int, effectChanged: Int = 0, flips: [Flip]) {
        self.rule = rule
        self.onlyBaseline = onlyBaseline
        self.onlyCandidate = onlyCandidate
        self.effectChanged = effectChanged
        self.flips = flips
    }

    private enum CodingKeys: String, CodingKey {
        case rule, onlyBaseline = "only_baseline", onlyCandidate = "only_candidate", effectChanged = "effect_changed", flips
    }
}

/// Flips within one group of events: a fraud scenario, or the legit or unlabeled events.
public struct GroupFlips: Codable, Hashable, Sendable {
    public var group: String
    public var events: Int
    public var flips: [Flip]
    /// Events the candidate declines or reviews that the baseline approved.
    public var newlyFlagged: Int
    /// Events the baseline declined or reviewed that the candidate approves.
    public var newlyApproved: Int

    private enum CodingKeys: String, CodingKey {
        case group, events, flips, newlyFlagged = "newly_flagged", newlyApproved = "newly_approved"
    }
}
