import FraudCore

/// Compares baseline and candidate decisions of the same events, in input order; a redelivered
/// payment is compared once, at its first delivery (as the summaries count it): the caller says
/// which records are redeliveries (`FirstDeliveries`).
public struct DecisionDiffBuilder: Sendable {
    /// Flip counts indexed by `from * 3 + to`, with examples.
    private struct FlipTable: Sendable {
        var counts = [Int](repeating: 0, count: 9)
        var examples = [[String]](repeating: [], count: 9)

        mutating func add(_ from: Outcome, _ to: Outcome, paymentID: String, maxExamples: Int) {
            let index = Self.index(from) * 3 + Self.index(to)
            counts[index] += 1
            if examples[index].count < maxExamples { examples[index].append(paymentID) }
        }

        /// Non-zero flips, the ones that loosen (toward approve) last.
        var flips: [Flip] {
            var out: [Flip] = []
            for from in Outcome.allCases.reversed() {
                for to in Outcome.allCases.reversed() where from != to {
                    let index = Self.index(from) * 3 + Self.index(to)
                    if counts[index] > 0 { out.append(Flip(from: from, to: to, count: counts[index], examples: examples[index])) }
                }
            }
            // Tightening flips (toward decline) first, then by count; the pair breaks ties.
            func key(_ flip: Flip) -> (Int, Int, Int, Int) {
                (flip.to > flip.from ? 0 : 1, -flip.count, -Self.index(flip.from), -Self.index(flip.to))
            }
            return out.sorted { key($0) < key($1) }
        }

        static func index(_ outcome: Outcome) -> Int {
            switch outcome {
            case .approve: 0
            case .review: 1
            case .decline: 2
            }
        }
    }

    private struct RuleState: Sendable {
        var onlyBaseline = 0
        var onlyCandidate = 0
        var flips = FlipTable()
    }

    private struct GroupState: Sendable {
        var events = 0
        var flips = FlipTable()
        var newlyFlagged = 0
        var newlyApproved = 0
    }

    public let maxExamples: Int
    private var events = 0
    private var flipped = 0
    private var riskPointsChanged = 0
    private var scoreChanged = 0
    private var flips = FlipTable()
    private var rules: [String: RuleState] = [:]
    private var groups: [String: GroupState] = [:]

    public init(maxExamples: Int = 5) { self.maxExamples = maxExamples }

    /// The group an event's flips are counted under.
    public static func group(of event: PaymentEvent) -> String {
        switch event.label {
        case .fraud: "fraud: " + (event.metadata["scenario"] ?? ReplaySummaryBuilder.unspecifiedScenario)
        case .legit: "legit"
        case nil: "unlabeled"
        }
    }

    public mutating func add(_ event: PaymentEvent, baseline: Decision, candidate: Decision, redelivery: Bool = false) {
        guard !redelivery else { return }
        events += 1
        let group = Self.group(of: event)
        groups[group, default: GroupState()].events += 1
        if baseline.riskPoints != candidate.riskPoints { riskPointsChanged += 1 }
        if baseline.modelScore != candidate.modelScore { scoreChanged += 1 }

        // Rules whose live (non-shadow) match differs; usually both lists are short and equal.
        let baselineRules = Self.liveRules(baseline), candidateRules = Self.liveRules(candidate)
        let changedRules: [(name: String, inBaseline: Bool)]
        if baselineRules == candidateRules {
            changedRules = []
        } else {
            changedRules = baselineRules.filter { !candidateRules.contains($0) }.map { ($0, true) }
                + candidateRules.filter { !baselineRules.contains($0) }.map { ($0, false) }
        }
        let isFlip = baseline.outcome != candidate.outcome
        for change in changedRules {
            var state = rules[change.name, default: RuleState()]
            if change.inBaseline { state.onlyBaseline += 1 } else { state.onlyCandidate += 1 }
            if isFlip { state.flips.add(baseline.outcome, candidate.outcome, paymentID: event.paymentID, maxExamples: maxExamples) }
            rules[change.name] = state
        }
        guard isFlip else { return }
        flipped += 1
        flips.add(baseline.outcome, candidate.outcome, paymentID: event.paymentID, maxExamples: maxExamples)
        var state = groups[group]!
        state.flips.add(baseline.outcome, candidate.outcome, paymentID: event.paymentID, maxExamples: maxExamples)
        if baseline.outcome == .approve { state.newlyFlagged += 1 }
        if candidate.outcome == .approve { state.newlyApproved += 1 }
        groups[group] = state
    }

    private static func liveRules(_ decision: Decision) -> [String] {
        decision.reasons.compactMap { reason in
            if case .rule(let rule) = reason, !rule.shadow { rule.rule } else { nil }
        }
    }

    public func diff() -> DecisionDiff {
        let ruleChanges = rules.map { RuleChange(rule: $0.key, onlyBaseline: $0.value.onlyBaseline, onlyCandidate: $0.value.onlyCandidate, flips: $0.value.flips.flips) }
            .sorted { lhs, rhs in
                let l = lhs.flips.reduce(0) { $0 + $1.count }, r = rhs.flips.reduce(0) { $0 + $1.count }
                return l != r ? l > r : lhs.rule < rhs.rule
            }
        let groupFlips = groups.map { GroupFlips(group: $0.key, events: $0.value.events, flips: $0.value.flips.flips, newlyFlagged: $0.value.newlyFlagged, newlyApproved: $0.value.newlyApproved) }
            .sorted { $0.group < $1.group }
        return DecisionDiff(
            events: events, flipped: flipped, riskPointsChanged: riskPointsChanged, scoreChanged: scoreChanged,
            flips: flips.flips, rules: ruleChanges, groups: groupFlips
        )
    }
}
