import FraudCore
import Testing
@testable import Replay

@Suite("Decision diff")
struct DiffTests {
    @Test("flips, rule attribution and groups on a hand-made case")
    func handCase() {
        var builder = DecisionDiffBuilder(maxExamples: 2)
        let e1 = Fixtures.event("p1", label: .fraud, scenario: "card_testing")
        let e2 = Fixtures.event("p2", label: .fraud, scenario: "card_testing")
        let e3 = Fixtures.event("p3", label: .legit)
        let e4 = Fixtures.event("p4", label: .legit)
        let e5 = Fixtures.event("p5")
        // p1: the candidate's new rule declines a fraud the baseline approved.
        builder.add(e1, baseline: Fixtures.decision(e1, .approve), candidate: Fixtures.decision(e1, .decline, points: 10, rules: ["new_rule"]))
        // p2: the same flip again.
        builder.add(e2, baseline: Fixtures.decision(e2, .approve), candidate: Fixtures.decision(e2, .decline, points: 10, rules: ["new_rule"]))
        // p3: the new rule also matches a legit event, but an allow outcome is unchanged (points only).
        builder.add(e3, baseline: Fixtures.decision(e3, .approve), candidate: Fixtures.decision(e3, .approve, points: 10, rules: ["new_rule"]))
        // p4: the baseline's old rule reviewed a legit event; the candidate dropped it.
        builder.add(e4, baseline: Fixtures.decision(e4, .review, points: 10, rules: ["old_rule"]), candidate: Fixtures.decision(e4, .approve))
        // p5: unchanged; a shadow rule differing does not count as a rule change.
        builder.add(e5, baseline: Fixtures.decision(e5, .approve, shadow: ["s"]), candidate: Fixtures.decision(e5, .approve, score: 0.2))
        let diff = builder.diff()
        #expect(diff.events == 5)
        #expect(diff.flipped == 3)
        #expect(diff.riskPointsChanged == 4)
        #expect(diff.scoreChanged == 1)
        #expect(diff.flips == [
            Flip(from: .approve, to: .decline, count: 2, examples: ["p1", "p2"]),
            Flip(from: .review, to: .approve, count: 1, examples: ["p4"]),
        ])
        #expect(diff.rules == [
            RuleChange(rule: "new_rule", onlyBaseline: 0, onlyCandidate: 3, flips: [Flip(from: .approve, to: .decline, count: 2, examples: ["p1", "p2"])]),
            RuleChange(rule: "old_rule", onlyBaseline: 1, onlyCandidate: 0, flips: [Flip(from: .review, to: .approve, count: 1, examples: ["p4"])]),
        ])
        #expect(diff.groups == [
            GroupFlips(group: "fraud: card_testing", events: 2, flips: [Flip(from: .approve, to: .decline, count: 2, examples: ["p1", "p2"])], newlyFlagged: 2, newlyApproved: 0),
            GroupFlips(group: "legit", events: 2, flips: [Flip(from: .review, to: .approve, count: 1, examples: ["p4"])], newlyFlagged: 0, newlyApproved: 1),
            GroupFlips(group: "unlabeled", events: 1, flips: [], newlyFlagged: 0, newlyApproved: 0),
        ])
    }

    @Test("the diff's flip counts equal a direct comparison of two independent decision lists", arguments: [7, 8, 9] as [UInt64])
    func matchesDirectComparison(seed: UInt64) {
        var random = Fixtures.SplitMix(seed: seed)
        var builder = DecisionDiffBuilder(maxExamples: 3)
        var expected: [String: Int] = [:]
        var expectedExamples: [String: [String]] = [:]
        for index in 0..<2_000 {
            let event = Fixtures.event("p\(index)", label: Bool.random(using: &random) ? .fraud : .legit)
            let a = Outcome.allCases.randomElement(using: &random)!
            let b = Int.random(in: 0..<4, using: &random) == 0 ? Outcome.allCases.randomElement(using: &random)! : a
            builder.add(event, baseline: Fixtures.decision(event, a), candidate: Fixtures.decision(event, b))
            if a != b {
                expected["\(a)→\(b)", default: 0] += 1
                if expectedExamples["\(a)→\(b)", default: []].count < 3 { expectedExamples["\(a)→\(b)", default: []].append(event.paymentID) }
            }
        }
        let diff = builder.diff()
        #expect(Dictionary(uniqueKeysWithValues: diff.flips.map { ("\($0.from)→\($0.to)", $0.count) }) == expected)
        #expect(Dictionary(uniqueKeysWithValues: diff.flips.map { ("\($0.from)→\($0.to)", $0.examples) }) == expectedExamples)
        #expect(diff.flipped == expected.values.reduce(0, +))
        #expect(diff.groups.reduce(0) { $0 + $1.flips.reduce(0) { $0 + $1.count } } == diff.flipped)
    }
}
