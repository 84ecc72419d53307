import FraudCore
import Testing
@testable import Model

@Suite struct MultiModelScorerTests {
    /// A challenger retrained on the same data (same clips and means, other weights), and a shadow
    /// model trained elsewhere (other clips and means on some features).
    static let champion = BLASPathTests.model()
    static var challenger: LogisticModel {
        var model = champion
        model.name = "challenger"
        model.bias = -4.1
        for j in model.features.indices { model.features[j].weight *= j % 2 == 0 ? 0.5 : -1.5 }
        return model
    }
    static var shadow: LogisticModel {
        var model = champion
        model.name = "shadow"
        for j in model.features.indices where j % 3 == 0 {
            model.features[j].clipUpper -= 0.5
            model.features[j].mean += 0.125
            model.features[j].std *= 1.25
        }
        return model
    }

    @Test func oneProductScoresEveryModelAsItsOwnScorerDoes() throws {
        let models = [Self.champion, Self.challenger, Self.shadow]
        let scorer = try MultiModelScorer(models: models)
        // The shadow model's ten re-clipped features get their own columns; the rest are shared.
        #expect(scorer.columnCount == 30 + 10)
        let rows = 777
        let raw = BLASPathTests.matrix(for: Self.champion, rows: rows)
        scorer.score(raw: raw, rows: rows)
        for (k, model) in models.enumerated() {
            let worst = raw.withUnsafeBufferPointer { raw in
                zip(scorer.scores(model: k), 0..<rows).map { abs($0 - model.referenceScore(raw: raw, offset: $1 * 30)) }.max()!
            }
            #expect(worst < 1e-6, "model \(k): largest |sgemm − reference| is \(worst)")
        }
        // A smaller batch reuses the buffers and reports only its own rows.
        scorer.score(raw: Array(raw.prefix(30)), rows: 1)
        #expect(scorer.scores(model: 2).count == 1)
    }

    @Test func modelsWithDifferentFeaturesAreRejected() {
        var other = Fixtures.model
        other.name = "other"
        other.features[2].expression = "channel == \"pos\""
        #expect(throws: MultiModelScorer.IncompatibleModels(description: "model 1 (other) has features [\"log1p(amount_usd)\", \"count(card_fingerprint,1h)\", \"channel == \\\"pos\\\"\"]; model 0 (fixture) has [\"log1p(amount_usd)\", \"count(card_fingerprint,1h)\", \"channel == \\\"ecom\\\"\"]: models scored together must list the same expressions in the same order")) {
            try MultiModelScorer(models: [Fixtures.model, other])
        }
        #expect(throws: MultiModelScorer.IncompatibleModels(description: "no model to score with")) { try MultiModelScorer(models: []) }
    }
}
