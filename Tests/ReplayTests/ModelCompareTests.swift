import BLAS
import Foundation
import FraudCore
import Model
import Replay
import Testing
import LocalStackSupport

/// `--model A --compare-model B`: two different models over the same rules, scored in one pass,
/// report exactly the flips (and score and rule changes) of running each model alone.
@Suite("Comparing two models in one pass", .serialized, .temporaryFolder)
struct ModelCompareTests {
    /// models/default.json with its bias raised by `shift` (scores go up, so more reviews and
    /// declines), under another name; written with a content hash that matches the edit.
    static func shiftedModel(by shift: Double) throws -> String {
        var model = try ModelFileDecoder.load(path: "models/default.json")
        model.name = "default-shifted"
        model.bias += shift
        let path = ReplayLoopTests.temporaryPath("shifted-\(shift).model.json")
        try ModelFileEncoder.encode(model).write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func liveRules(_ decision: Decision) -> Set<String> {
        Set(decision.reasons.compactMap { reason in
            if case .rule(let rule) = reason, !rule.shadow { rule.rule } else { nil }
        })
    }

    @Test("--compare-model without --model: the candidate's model metrics are in the text and the report, '–' for the baseline")
    func candidateOnlyModel() throws {
        var baseline = ReplaySummaryBuilder(), candidate = ReplaySummaryBuilder(), diff = DecisionDiffBuilder()
        for (index, label) in [Label.fraud, .legit, .legit, .fraud].enumerated() {
            let event = Fixtures.event("p\(index)", minute: Int64(index), label: label)
            let a = Fixtures.decision(event, .approve, model: "none")
            let b = Fixtures.decision(event, label == .fraud ? .decline : .approve, score: label == .fraud ? 0.9 : 0.1)
            baseline.add(event, a)
            candidate.add(event, b)
            diff.add(event, baseline: a, candidate: b)
        }
        let (b, c) = (baseline.summary(), candidate.summary())
        #expect(b.model == nil)
        #expect(c.model?.aucROC == 1)
        let comparison = ReplayComparison(baseline: b, candidate: c, diff: diff.diff())
        let text = SummaryText.render(comparison)
        #expect(text.contains("  AUC-ROC                             –     1.0000        –\n"), "\(text)")
        #expect(text.contains("  average precision                   –     1.0000        –\n"), "\(text)")
        let html = ReplayReport(
            run: ReplayRun(name: "default.rules", summary: b, scores: baseline.scores),
            candidate: ReplayRun(name: "default.rules + m.json", summary: c, scores: candidate.scores), diff: comparison.diff, source: "in"
        ).html()
        #expect(html.contains("AUC-ROC"))
        #expect(html.contains("id=\"roc\""))
        #expect(html.contains("default.rules + m.json AUC 1.0000"))
        #expect(!html.contains("default.rules AUC"))
    }

    @Test("--model/--compare-model: each side's decisions equal its model's run alone, and the diff counts exactly their differences")
    func compareModels() async throws {
        // As the CLI does for a backtest: scores must not depend on OpenBLAS's threading.
        BLAS.setThreadCount(1)
        let input = try EngineReplayTests.simulatedInput()
        let baseline = try ReplayScoring.load(rulesPath: "rules/default.rules", modelPath: "models/default.json")
        let candidate = try ReplayScoring.load(rulesPath: "rules/default.rules", modelPath: try Self.shiftedModel(by: 1.5))
        #expect(baseline.model?.model.version != candidate.model?.model.version)

        let aPath = ReplayLoopTests.temporaryPath("model-alone-a.jsonl"), bPath = ReplayLoopTests.temporaryPath("model-alone-b.jsonl")
        _ = try await EngineReplayTests.replay(EngineReplaySetup(baseline: baseline), input: input, decisionsOut: aPath)
        _ = try await EngineReplayTests.replay(EngineReplaySetup(baseline: candidate), input: input, decisionsOut: bPath)
        let pairedA = ReplayLoopTests.temporaryPath("model-paired-a.jsonl"), pairedB = ReplayLoopTests.temporaryPath("model-paired-b.jsonl")
        let result = try await EngineReplayTests.replay(EngineReplaySetup(baseline: baseline, candidate: candidate), input: input, decisionsOut: pairedA, candidateOut: pairedB)

        #expect(try Data(contentsOf: URL(fileURLWithPath: pairedA)) == Data(contentsOf: URL(fileURLWithPath: aPath)))
        #expect(try Data(contentsOf: URL(fileURLWithPath: pairedB)) == Data(contentsOf: URL(fileURLWithPath: bPath)))

        let a = try ReplayLoopTests.decisions(at: aPath), b = try ReplayLoopTests.decisions(at: bPath)
        #expect(a.count == 20_000)
        #expect(b.count == 20_000)
        var flips: [String: Int] = [:], scoreChanged = 0
        var onlyBaseline: [String: Int] = [:], onlyCandidate: [String: Int] = [:]
        for (x, y) in zip(a, b) {
            #expect(x.paymentID == y.paymentID)
            if x.outcome != y.outcome { flips["\(x.outcome)→\(y.outcome)", default: 0] += 1 }
            if x.modelScore != y.modelScore { scoreChanged += 1 }
            let rulesA = Self.liveRules(x), rulesB = Self.liveRules(y)
            for rule in rulesA.subtracting(rulesB) { onlyBaseline[rule, default: 0] += 1 }
            for rule in rulesB.subtracting(rulesA) { onlyCandidate[rule, default: 0] += 1 }
        }
        let diff = try #require(result.diff)
        #expect(diff.events == 20_000)
        #expect(!flips.isEmpty)
        #expect(Dictionary(uniqueKeysWithValues: diff.flips.map { ("\($0.from)→\($0.to)", $0.count) }) == flips)
        #expect(diff.flipped == flips.values.reduce(0, +))
        // A higher bias raises every score: decisions only get stricter.
        #expect(Set(flips.keys).isSubset(of: ["approve→review", "approve→decline", "review→decline"]))
        #expect(scoreChanged > 0)
        #expect(diff.scoreChanged == scoreChanged)
        #expect(diff.riskPointsChanged == zip(a, b).filter { $0.riskPoints != $1.riskPoints }.count)
        #expect(Dictionary(uniqueKeysWithValues: diff.rules.filter { $0.onlyBaseline > 0 }.map { ($0.rule, $0.onlyBaseline) }) == onlyBaseline)
        #expect(Dictionary(uniqueKeysWithValues: diff.rules.filter { $0.onlyCandidate > 0 }.map { ($0.rule, $0.onlyCandidate) }) == onlyCandidate)
        // Only the model thresholds read the score, so only they can match differently.
        #expect(Set(diff.rules.map(\.rule)).isSubset(of: ["model_review", "model_decline"]))
        #expect(result.baseline.summary.modelVersions != result.candidate?.summary.modelVersions)
    }
}
