import Foundation
import FraudCore
import Replay
import Testing

extension EngineReplayTests {
    /// The 20,000-event file backwards: most events come more than the lateness (5m) behind the
    /// newest time read, and are decided without being added to the windows. The replay said
    /// nothing about it (decline 122 / review 975 against 314 / 1,680 in order on 300,000 events).
    @Test("a replay of events out of order counts the events too late for the windows, the same on 1, 2 and 3 threads", arguments: [1, 2, 3])
    func tooLateCounted(workers: Int) async throws {
        let ordered = try JSONLinesReader.readAll(path: try Self.simulatedInput()).events
        let reversed = try Self.write(ordered.reversed(), to: "sim-20k-reversed.jsonl")
        var setup = EngineReplaySetup(baseline: try Self.defaultScoring())
        setup.storeParallelism = workers
        let result = try await Self.replay(setup, input: reversed, workers: workers)
        #expect(result.baseline.summary.events == 20_000)
        #expect(result.baseline.summary.tooLate == 19_489)
        #expect(SummaryText.render(result.baseline.summary).contains("too late   19,489 events came later than the allowed lateness"))
        // In order, none is too late (the committed summary says so too: "too_late" : 0).
        let inOrder = try await Self.replay(setup, input: try Self.simulatedInput(), workers: workers)
        #expect(inOrder.baseline.summary.tooLate == 0)
    }

    /// `rule large_amount: review +10` made `decline +10`: the diff compared rule names only, so
    /// its flips were attributed to no rule.
    @Test("a rule whose action changed is the rule the flips are attributed to, with the flips of the two runs alone")
    func editedRuleAttributed() async throws {
        let input = try Self.simulatedInput()
        let candidatePath = try Self.candidateRules("large-amount-declines") {
            $0.replacingOccurrences(of: "rule large_amount: review +10 if", with: "rule large_amount: decline +10 if")
        }
        let baseline = try Self.defaultScoring()
        let candidate = try ReplayScoring.load(rulesPath: candidatePath, modelPath: "models/default.json")
        let aPath = ReplayLoopTests.temporaryPath("alone-a.jsonl"), bPath = ReplayLoopTests.temporaryPath("alone-b.jsonl")
        let alone = try await Self.replay(EngineReplaySetup(baseline: baseline), input: input, decisionsOut: aPath)
        _ = try await Self.replay(EngineReplaySetup(baseline: candidate), input: input, decisionsOut: bPath)
        var flips: [String: Int] = [:]
        for (a, b) in try zip(ReplayLoopTests.decisions(at: aPath), ReplayLoopTests.decisions(at: bPath)) where a.outcome != b.outcome {
            flips["\(a.outcome)→\(b.outcome)", default: 0] += 1
        }
        let result = try await Self.replay(EngineReplaySetup(baseline: baseline, candidate: candidate), input: input)
        let diff = try #require(result.diff)
        #expect(flips == ["review→decline": 67])
        #expect(diff.flipped == 67)
        let largeAmountHits = try #require(alone.baseline.summary.rules.first { $0.rule == "large_amount" }?.hits)
        #expect(largeAmountHits == 80)
        #expect(diff.rules == [RuleChange(rule: "large_amount", onlyBaseline: 0, onlyCandidate: 0, effectChanged: largeAmountHits,
                                          flips: [Flip(from: .review, to: .decline, count: 67, examples: diff.flips[0].examples)])])
        let text = SummaryText.render(try #require(result.comparison))
        #expect(text.contains("rules whose matches or effect (action, points, shadow) changed"))
    }
}
