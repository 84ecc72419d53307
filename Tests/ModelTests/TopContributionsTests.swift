import FraudCore
import Testing
@testable import Model

/// The model's reasons per decision: the largest contributions of a row, collected for a whole
/// batch in one array (the engine's path) exactly as row by row.
@Suite struct TopContributionsTests {
    /// z = x (mean 0, std 1, clip ±100) and weight 1: each contribution is the raw value itself.
    static let identityModel = LogisticModel(
        name: "identity",
        features: (0..<4).map { ModelFeature(expression: "f\($0)", weight: 1, mean: 0, std: 1, clipLower: -100, clipUpper: 100) },
        bias: 0, training: Fixtures.model.training, evaluation: Fixtures.model.evaluation
    )
    /// Row 0 ties f1 and f2; row 1 has a missing f0 (contribution 0) and ties f2 and f3.
    static let raw: [Double] = [1, 3, 3, 2, .nan, -1, 5, 5]

    @Test("ties keep feature order and a missing value contributes 0", arguments: [
        (0, 3, ["f1", "f2", "f3"], [3.0, 3, 2]),
        (1, 3, ["f2", "f3", "f0"], [5.0, 5, 0]),
        (0, 1, ["f1"], [3.0]),
        (1, 9, ["f2", "f3", "f0", "f1"], [5.0, 5, 0, -1]),
    ])
    func rowByRow(row: Int, count: Int, features: [String], contributions: [Double]) {
        let scorer = BatchScorer(model: Self.identityModel)
        let top = scorer.topContributions(raw: Self.raw, row: row, count: count)
        #expect(top.map(\.feature) == features)
        #expect(top.map(\.contribution) == contributions)
    }

    @Test("a batch's contributions in one array are every row's own, row after row")
    func batchInOneArray() {
        let scorer = BatchScorer(model: Self.identityModel)
        var flat: [ModelContribution] = []
        scorer.appendTopContributions(raw: Self.raw, rows: 2, count: 3, to: &flat)
        #expect(flat.map(\.feature) == ["f1", "f2", "f3", "f2", "f3", "f0"])
        #expect(flat.map(\.contribution) == [3, 3, 2, 5, 5, 0])
        #expect(flat[5].value.isNaN, "the reported value of a missing feature stays missing")
    }
}
