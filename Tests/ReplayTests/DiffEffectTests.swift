import FraudCore
import Testing
@testable import Replay

/// A rule whose action, points or shadow flag changed is a rule change even where it matches
/// the same events: `rule large_amount: review +10` made `decline +10` flipped 58 payments of
/// the 20,000-event file review → decline, and the diff attributed them to no rule.
@Suite("Decision diff: edited rules")
struct DiffEffectTests {
    static func decision(_ event: PaymentEvent, _ outcome: Outcome, _ rules: [(String, RuleAction, Int, Bool)]) -> Decision {
        var decision = Fixtures.decision(event, outcome)
        decision.reasons = rules.map { .rule(RuleReason(rule: $0.0, action: $0.1, points: $0.2, shadow: $0.3, values: [])) }
        decision.riskPoints = rules.filter { !$0.3 }.reduce(0) { $0 + $1.2 }
        return decision
    }

    @Test("flips are attributed to rules whose action, points or shadow flag differ, with exact counts")
    func editedRules() {
        var builder = DecisionDiffBuilder(maxExamples: 3)
        let events = (1...6).map { Fixtures.event("p\($0)", label: .legit) }
        // p1, p2: large_amount review +10 made decline +10: review → decline.
        for event in events[0..<2] {
            builder.add(event, baseline: Self.decision(event, .review, [("large_amount", .review, 10, false)]),
                        candidate: Self.decision(event, .decline, [("large_amount", .decline, 10, false)]))
        }
        // p3: the same edit under a decline already made by another rule: no flip, the effect still changed.
        builder.add(events[2], baseline: Self.decision(events[2], .decline, [("blocked_ip", .decline, 0, false), ("large_amount", .review, 10, false)]),
                    candidate: Self.decision(events[2], .decline, [("blocked_ip", .decline, 0, false), ("large_amount", .decline, 10, false)]))
        // p4: points only (+20 → +50), which crosses the decline threshold, reported as a reason.
        builder.add(events[3], baseline: Self.decision(events[3], .review, [("spend_spike", .review, 20, false), ("points_review", .review, 0, false)]),
                    candidate: Self.decision(events[3], .decline, [("spend_spike", .review, 50, false), ("points_review", .review, 0, false), ("points_decline", .decline, 0, false)]))
        // p5: a rule made a shadow rule: its review no longer counts.
        builder.add(events[4], baseline: Self.decision(events[4], .review, [("country_hop", .review, 25, false)]),
                    candidate: Self.decision(events[4], .approve, [("country_hop", .review, 25, true)]))
        // p6: unchanged rules in the same order; a shadow rule matching on one side only changes nothing.
        builder.add(events[5], baseline: Self.decision(events[5], .review, [("large_amount", .review, 10, false), ("night", .review, 10, true)]),
                    candidate: Self.decision(events[5], .review, [("large_amount", .review, 10, false)]))
        let diff = builder.diff()
        #expect(diff.flipped == 4)
        #expect(diff.rules == [
            RuleChange(rule: "large_amount", onlyBaseline: 0, onlyCandidate: 0, effectChanged: 3, flips: [Flip(from: .review, to: .decline, count: 2, examples: ["p1", "p2"])]),
            RuleChange(rule: "country_hop", onlyBaseline: 0, onlyCandidate: 0, effectChanged: 1, flips: [Flip(from: .review, to: .approve, count: 1, examples: ["p5"])]),
            RuleChange(rule: "points_decline", onlyBaseline: 0, onlyCandidate: 1, effectChanged: 0, flips: [Flip(from: .review, to: .decline, count: 1, examples: ["p4"])]),
            RuleChange(rule: "spend_spike", onlyBaseline: 0, onlyCandidate: 0, effectChanged: 1, flips: [Flip(from: .review, to: .decline, count: 1, examples: ["p4"])]),
        ])
    }
}
