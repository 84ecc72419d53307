import FraudCore
import Testing
@testable import Model

/// The BLAS path (clip and centre in raw space, scale folded into the weights, Float32 dot
/// products, vectorized sigmoid) against the reference definition evaluated one row at a time in Double.
@Suite struct BLASPathTests {
    /// 30 features like the default model's: small-scale, amount-like, count-like with a large
    /// mean (where folding the mean into the bias would lose the logit to Float32 cancellation),
    /// binary; every fifth value clipped, every eleventh missing.
    static func model(features: Int = 30, seed: UInt64 = 23) -> LogisticModel {
        var random = TestRandom(seed: seed)
        let columns = (0..<features).map { j -> ModelFeature in
            let weight = Double.random(in: -1.2...1.2, using: &random)
            switch j % 4 {
            case 0: return ModelFeature(expression: "f\(j)", weight: weight, mean: 0.1, std: 0.9, clipLower: -2.5, clipUpper: 2.5)
            case 1: return ModelFeature(expression: "f\(j)", weight: weight, mean: 4.2, std: 1.3, clipLower: 0, clipUpper: 9.9)
            case 2: return ModelFeature(expression: "f\(j)", weight: weight, mean: 40_000, std: 2, clipLower: 39_994, clipUpper: 40_007)
            default: return ModelFeature(expression: "f\(j)", weight: weight, mean: 0.3, std: 0.46, clipLower: 0, clipUpper: 1)
            }
        }
        return LogisticModel(name: "thirty", features: columns, bias: -3.7, training: Fixtures.model.training, evaluation: Fixtures.model.evaluation)
    }

    static func matrix(for model: LogisticModel, rows: Int, seed: UInt64 = 29) -> [Double] {
        var random = TestRandom(seed: seed)
        let p = model.features.count
        var raw = [Double](repeating: 0, count: rows * p)
        for i in raw.indices {
            let feature = model.features[i % p]
            let spread = (feature.clipUpper - feature.clipLower) * 0.6
            raw[i] = i % 5 == 0 ? feature.clipUpper + spread : feature.mean + Double.random(in: -spread...spread, using: &random)
            if i % 11 == 0 { raw[i] = .nan }
        }
        return raw
    }

    @Test(arguments: [1, 7, 8, 9, 30, 33])
    func blasPathMatchesTheReferenceLoop(features: Int) {
        let model = Self.model(features: features)
        let rows = 1000
        let raw = Self.matrix(for: model, rows: rows)
        let scorer = BatchScorer(model: model)
        scorer.score(raw: raw, rows: rows)
        let worst = raw.withUnsafeBufferPointer { raw in
            (0..<rows).map { abs(scorer.scores[$0] - model.referenceScore(raw: raw, offset: $0 * features)) }.max()!
        }
        #expect(worst < 1e-6, "largest |BLAS − reference| is \(worst)")
    }

    @Test func scaleIsFoldedIntoPaddedWeightsAndTheMeanIsNot() {
        let coefficients = ScoringCoefficients(Fixtures.model)
        #expect(coefficients.stride == 8)
        #expect(coefficients.weights == [Float(0.5 / 1.5), 0.625, -1.5, 0, 0, 0, 0, 0])
        #expect(coefficients.center == [3, 1, 0.5])
        #expect(coefficients.bias == -4)
        #expect(ScoringCoefficients.paddedStride(30) == 32)
        #expect(ScoringCoefficients.paddedStride(32) == 32)
        #expect(ScoringCoefficients.paddedStride(0) == 0)
    }

    /// The prepared row is clamp(x) − mean in Float32, missing → 0, padding untouched.
    @Test func preparedRowClipsInRawSpaceAndCentres() {
        let lower = [0.0, 0, 0, 0, -1], upper = [12.0, 12, 12, 12, 1], center = [2.0, 2, 2, 2, 0.5]
        let raw: [Double] = [14, -3, 7, .nan, 0.75]
        var out = [Float](repeating: 9, count: 8)
        raw.withUnsafeBufferPointer { x in out.withUnsafeMutableBufferPointer { z in
            FeatureMatrixKernel.prepare(raw: x.baseAddress!, rows: 1, columns: 5, lower: lower, upper: upper, center: center, out: z.baseAddress!, stride: 8)
        }}
        #expect(out == [10, -2, 5, 0, 0.25, 9, 9, 9])
    }

    @Test(arguments: [-800.0, -100, -87.5, -60, -30, -12.25, -5, -1, -0.1, 0, 0.1, 1, 5, 12.25, 30, 60, 100, 800])
    func vectorSigmoidMatchesTheScalarDefinition(logit: Double) {
        // Eight equal lanes fill a register; a ninth is the tail, padded into a register of its own.
        let logits = [Float](repeating: Float(logit) - 0.5, count: 9)
        var scores = [Double](repeating: .nan, count: 9)
        logits.withUnsafeBufferPointer { l in scores.withUnsafeMutableBufferPointer { s in
            Logistic.sigmoid(logits: l.baseAddress!, bias: 0.5, count: 9, into: s.baseAddress!)
        }}
        let expected = Logistic.sigmoid(Double(Float(logit) - 0.5) + 0.5)
        #expect(abs(scores[0] - expected) < 1e-7)
        if logit > -80 { #expect(abs(scores[0] - expected) <= 1e-6 * expected, "relative precision of a small probability") }
        #expect(scores[8] == scores[0], "the tail is computed like the rest")
        #expect(scores[0] >= 0 && scores[0] <= 1)
    }

    /// An event scored alone (`POST /v1/score`) and the same event in a batch of a thousand (Kafka)
    /// get the same bits: sgemv's row blocks and a scalar tail in the sigmoid once made the score
    /// depend on the batch's size and the row's place in it (`waqiti replay --batch-size 1`
    /// against 1024 differed on every decision's model_score).
    @Test(arguments: [1, 3, 7, 9, 16, 1000])
    func aRowScoresTheSameInAnyBatch(batch: Int) {
        let model = Self.model(features: 30)
        let rows = 1000, p = 30
        let raw = Self.matrix(for: model, rows: rows)
        let whole = BatchScorer(model: model)
        whole.score(raw: raw, rows: rows)
        let part = BatchScorer(model: model)
        var differing: [Int] = []
        for start in stride(from: 0, to: rows, by: batch) {
            let count = min(batch, rows - start)
            part.score(raw: Array(raw[(start * p)..<((start + count) * p)]), rows: count)
            for row in 0..<count where part.scores[row].bitPattern != whole.scores[start + row].bitPattern {
                differing.append(start + row)
            }
        }
        #expect(differing.isEmpty, "rows scored differently in batches of \(batch): \(differing.prefix(10))")
    }

    @Test func emptyBatchScoresNothing() {
        let scorer = BatchScorer(model: Fixtures.model)
        scorer.score(raw: [], rows: 0)
        #expect(scorer.rows == 0)
    }
}
