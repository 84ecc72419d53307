/// A baseline's and a candidate's summary rows matched up for the side-by-side tables of the
/// comparison text (`SummaryText`) and report (`ReplayReport`).
public enum ComparedRows {
    /// One rule on both sides (nil on a side whose rule set has no such rule).
    public struct RuleRow: Sendable, Hashable {
        public var rule: String
        /// The action (`review`, `decline (shadow)`), or `review → decline` when it changed.
        public var action: String
        public var baseline: RuleHits?
        public var candidate: RuleHits?
    }

    /// The baseline's rules in its order, then rules only the candidate has.
    public static func rules(_ baseline: [RuleHits], _ candidate: [RuleHits]) -> [RuleRow] {
        func action(_ hits: RuleHits?) -> String? {
            hits.map { ($0.action?.rawValue ?? "?") + ($0.shadow ? " (shadow)" : "") }
        }
        let candidateByName = Dictionary(candidate.map { ($0.rule, $0) }, uniquingKeysWith: { first, _ in first })
        let baselineNames = Set(baseline.map(\.rule))
        var rows: [RuleRow] = []
        for b in baseline {
            let c = candidateByName[b.rule]
            let (ba, ca) = (action(b)!, action(c))
            rows.append(RuleRow(rule: b.rule, action: ca == nil || ca == ba ? ba : "\(ba) → \(ca!)", baseline: b, candidate: c))
        }
        for c in candidate where !baselineNames.contains(c.rule) {
            rows.append(RuleRow(rule: c.rule, action: action(c)!, baseline: nil, candidate: c))
        }
        return rows
    }

    /// Per currency (sorted): the fraud amount (the same events on both sides) and each side's
    /// caught amount (declined + reviewed).
    public static func amounts(_ baseline: LabelSummary, _ candidate: LabelSummary) -> [(fraud: CurrencyAmounts, baseline: CurrencyAmounts, candidate: CurrencyAmounts)] {
        let currencies = Set(baseline.fraudAmounts.map(\.currency)).union(candidate.fraudAmounts.map(\.currency)).sorted()
        return currencies.map { currency in
            let b = baseline.fraudAmounts.first { $0.currency == currency } ?? CurrencyAmounts(currency: currency)
            let c = candidate.fraudAmounts.first { $0.currency == currency } ?? CurrencyAmounts(currency: currency)
            return (b.fraudMinor >= c.fraudMinor ? b : c, b, c)
        }
    }

    /// Per scenario (sorted): each side's recall.
    public static func scenarios(_ baseline: LabelSummary, _ candidate: LabelSummary) -> [(baseline: ScenarioRecall, candidate: ScenarioRecall)] {
        let names = Set(baseline.scenarios.map(\.scenario)).union(candidate.scenarios.map(\.scenario)).sorted()
        return names.map { name in
            (baseline.scenarios.first { $0.scenario == name } ?? ScenarioRecall(scenario: name),
             candidate.scenarios.first { $0.scenario == name } ?? ScenarioRecall(scenario: name))
        }
    }
}
