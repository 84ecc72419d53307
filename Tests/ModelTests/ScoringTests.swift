import FraudCore
import Testing
@testable import Model

@Suite struct ScoringTests {
    /// Rows chosen so the logits are exact: z = ((x₀ − 1)/2, x₁) with clipping at ±10.
    /// [3, 1] → 0.5 + 2·1 − 1·1 = 1.5; [NaN, −20] → 0.5 + 0 − 1·(−10) = 10.5; [−1, 2] → 0.5 − 2 − 2 = −3.5.
    static let raw: [Double] = [3, 1, .nan, -20, -1, 2]
    /// σ of those logits, computed independently (Python's math.exp).
    static let expected = [0.8175744761936437, 0.9999724643088853, 0.02931223075135632]

    @Test func knownWeightsScoreKnownMatrix() {
        let scorer = BatchScorer(model: Fixtures.twoFeatureModel)
        scorer.score(raw: Self.raw, rows: 3)
        for row in 0..<3 { #expect(abs(scorer.scores[row] - Self.expected[row]) < 1e-6, "row \(row): \(scorer.scores[row])") }
        // A smaller batch afterwards reuses the buffers and reports only its own rows.
        scorer.score(raw: [-1, 2], rows: 1)
        #expect(scorer.rows == 1)
        #expect(abs(scorer.scores[0] - Self.expected[2]) < 1e-6)
    }

    @Test(arguments: [
        (14.0, 2.0),    // above the clip: (12 − 2) / 5
        (-3.0, -0.4),   // below the clip: (0 − 2) / 5
        (7.0, 1.0),     // inside: (7 − 2) / 5
        (Double.nan, 0.0), // missing: imputed to the training mean
    ])
    func standardizationClipsThenScales(raw: Double, z: Double) {
        let feature = ModelFeature(expression: "x", weight: 1, mean: 2, std: 5, clipLower: 0, clipUpper: 12)
        #expect(feature.standardize(raw) == z)
    }

    @Test func contributionsSumToTheLogitMinusBias() {
        let scorer = BatchScorer(model: Fixtures.twoFeatureModel)
        let logits = [1.5, 10.5, -3.5]
        for row in 0..<3 {
            let sum = scorer.contributions(raw: Self.raw, row: row).reduce(0, +)
            #expect(sum == logits[row] - 0.5)
        }
    }

    @Test func topContributionsAreTheLargestPushesTowardsFraud() {
        let scorer = BatchScorer(model: Fixtures.model)
        // z = (log1p: (6 − 3)/1.5 = 2, count: (9 − 1)/2 = 4, ecom: (0 − 0.5)/0.5 = −1)
        let top = scorer.topContributions(raw: [6, 9, 0], row: 0)
        #expect(top == [
            ModelContribution(feature: "count(card_fingerprint,1h)", value: 9, contribution: 5),
            ModelContribution(feature: "log1p(amount_usd)", value: 6, contribution: 1),
            ModelContribution(feature: "channel == \"ecom\"", value: 0, contribution: 0.75),
        ])
        #expect(scorer.topContributions(raw: [6, 9, 0], row: 0, count: 1).map(\.feature) == ["count(card_fingerprint,1h)"])
    }

    /// Nine features: two four-wide SIMD chunks and a scalar tail, with missing and clipped
    /// values in every lane position; checked against the double-precision definition.
    @Test func vectorizedStandardizationMatchesTheDefinition() {
        var random = TestRandom(seed: 17)
        let features = (0..<9).map { j in
            ModelFeature(expression: "f\(j)", weight: Double(j) / 4 - 1, mean: Double(j) / 10, std: 0.5 + Double(j) / 8, clipLower: -1.5, clipUpper: 1.5)
        }
        let model = LogisticModel(name: "nine", features: features, bias: -0.25, training: Fixtures.model.training, evaluation: Fixtures.model.evaluation)
        let rows = 37
        var raw = random.doubles(rows * 9).map { $0 * 3 }
        for i in stride(from: 0, to: raw.count, by: 7) { raw[i] = .nan }
        let scorer = BatchScorer(model: model)
        scorer.score(raw: raw, rows: rows)
        for row in 0..<rows {
            let logit = -0.25 + scorer.contributions(raw: raw, row: row).reduce(0, +)
            #expect(abs(scorer.scores[row] - Logistic.sigmoid(logit)) < 1e-6, "row \(row)")
        }
    }

    @Test func sigmoidStaysFiniteAtExtremes() {
        #expect(Logistic.sigmoid(800) == 1)
        #expect(Logistic.sigmoid(-800) == 0)
        #expect(Logistic.softplus(800) == 800)
        #expect(Logistic.softplus(-800) == 0)
    }
}
