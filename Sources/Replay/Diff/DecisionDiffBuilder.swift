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
        var effectChanged = 0
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

        // Rules whose effect differs: matched (live) on one side only, or on both with another
        // action, points or shadow flag. Usually both lists are short and equal.
        let changedRules = Self.sameRuleEffects(baseline, candidate) ? [] : Self.ruleChanges(baseline, candidate)
        let isFlip = baseline.outcome != candidate.outcome
        for change in changedRules {
            var state = rules[change.name, default: RuleState()]
            switch change.kind {
            case .onlyBaseline: state.onlyBaseline += 1
            case .onlyCandidate: state.onlyCandidate += 1
            case .effectChanged: state.effectChanged += 1
            }
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

    private enum ChangeKind { case onlyBaseline, onlyCandidate, effectChanged }

    /// True when both decisions list the same rules (thresholds included) with the same action,
    /// points and shadow flag, in the same order: nothing to attribute. No allocation.
    private static func sameRuleEffects(_ baseline: Decision, _ candidate: Decision) -> Bool {
        var b = baseline.reasons.makeIterator(), c = candidate.reasons.makeIterator()
        while true {
            var left: RuleReason?, right: RuleReason?
            while let reason = b.next() { if case .rule(let rule) = reason { left = rule; break } }
            while let reason = c.next() { if case .rule(let rule) = reason { right = rule; break } }
            switch (left, right) {
            case (nil, nil): return true
            case (let l?, let r?):
                guard l.rule == r.rule, l.action == r.action, l.points == r.points, l.shadow == r.shadow else { return false }
            default: return false
            }
        }
    }

    /// The rules whose effect differs between the two decisions: a rule live (non-shadow) on one
    /// side that did not match, or matched only as a shadow rule, on the other; or a rule that
    /// matched on both with another action, points or shadow flag (an edited rule: `review +10`
    /// made `decline +10` flipped 58 payments that the diff attributed to no rule when it
    /// compared names only). A rule that is a shadow rule wherever it matched changes nothing.
    private static func ruleChanges(_ baseline: Decision, _ candidate: Decision) -> [(name: String, kind: ChangeKind)] {
        func fired(_ decision: Decision) -> [RuleReason] {
            decision.reasons.compactMap { reason in if case .rule(let rule) = reason { rule } else { nil } }
        }
        let b = fired(baseline), c = fired(candidate)
        var changes: [(name: String, kind: ChangeKind)] = []
        for rule in b {
            if let other = c.first(where: { $0.rule == rule.rule }) {
                if other.action != rule.action || other.points != rule.points || other.shadow != rule.shadow {
                    changes.append((rule.rule, .effectChanged))
                }
            } else if !rule.shadow {
                changes.append((rule.rule, .onlyBaseline))
            }
        }
        for rule in c where !rule.shadow && !b.contains(where: { $0.rule == rule.rule }) {
            changes.append((rule.rule, .onlyCandidate))
        }
        return changes
    }

    public func diff() -> DecisionDiff {
        let ruleChanges = rules.map { RuleChange(rule: $0.key, onlyBaseline: $0.value.onlyBaseline, onlyCandidate: $0.value.onlyCandidate, effectChanged: $0.value.effectChanged, flips: $0.value.flips.flips) }
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
