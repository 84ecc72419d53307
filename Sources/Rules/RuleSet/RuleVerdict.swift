import FraudCore

/// What the rules say about one event.
///
/// Precedence (docs/rules.md): a matching `decline` (rule or threshold) wins; otherwise a matching
/// `allow` approves, overriding any review; otherwise a matching `review` reviews; otherwise the
/// event is approved. Shadow rules are reported but never change the outcome or the points.
public struct RuleVerdict: Hashable, Sendable {
    public var outcome: Outcome
    /// Sum of the points of the matched non-shadow rules.
    public var riskPoints: Int
    /// Every matched rule in file order (shadow ones flagged), then every matched threshold.
    public var reasons: [RuleReason]
    /// The rule or threshold whose action set the outcome (the first in file order among those
    /// with the winning action); nil when nothing matched and the event is approved by default.
    public var decidedBy: String?

    public init(outcome: Outcome, riskPoints: Int, reasons: [RuleReason], decidedBy: String?) {
        self.outcome = outcome
        self.riskPoints = riskPoints
        self.reasons = reasons
        self.decidedBy = decidedBy
    }

    /// The matched rules that count (not shadow).
    public var liveReasons: [RuleReason] { reasons.filter { !$0.shadow } }
    /// The matched shadow rules.
    public var shadowReasons: [RuleReason] { reasons.filter(\.shadow) }
}
