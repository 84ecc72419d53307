import FraudCore

/// One rule or threshold of a rule set as listings show it (`waqiti replay` summaries, `GET /v1/rules`).
public struct RuleListing: Hashable, Sendable {
    public var name: String
    public var action: RuleAction
    public var points: Int
    public var shadow: Bool
    public var isThreshold: Bool
}

extension RuleSet {
    /// Every rule in file order, then every threshold: what can appear as a reason.
    public var listing: [RuleListing] {
        (rules + thresholds).map { RuleListing(name: $0.name, action: $0.action, points: $0.points, shadow: $0.shadow, isThreshold: $0.isThreshold) }
    }
}
