import Testing
@testable import Model

/// Expected values are worked by hand in the comments (and agree with scikit-learn's
/// roc_auc_score / average_precision_score / log_loss on the same inputs).
@Suite struct MetricsTests {
    @Test func aucAndAveragePrecisionWithoutTies() {
        // Pairs (fraud, legit): 0.35>0.1 ✓, 0.35<0.4 ✗, 0.8>0.1 ✓, 0.8>0.4 ✓ → 3/4.
        // Descending: 0.8 F → P=1, R=½; 0.4 L; 0.35 F → P=⅔, R=1 → AP = ½·1 + ½·⅔ = ⅚.
        let e = BinaryEvaluation(scores: [0.1, 0.4, 0.35, 0.8], labels: [false, false, true, true])
        #expect(e.aucROC == 0.75)
        #expect(abs(e.averagePrecision - 5.0 / 6.0) < 1e-15)
    }

    @Test func tiesCountHalf() {
        // (0.9 vs 0.5) 1, (0.9 vs 0.1) 1, (0.5 vs 0.5) ½, (0.5 vs 0.1) 1 → 3.5 / 4.
        // Thresholds: 0.9 → TP 1, FP 0 (R ½, P 1); 0.5 → TP 2, FP 1 (R 1, P ⅔) → AP = ⅚.
        let e = BinaryEvaluation(scores: [0.9, 0.5, 0.5, 0.1], labels: [true, true, false, false])
        #expect(e.aucROC == 0.875)
        #expect(abs(e.averagePrecision - 5.0 / 6.0) < 1e-15)
        #expect(e.thresholds.map(\.score) == [0.9, 0.5, 0.1])
    }

    @Test func allTiedScoresAreChance() {
        let e = BinaryEvaluation(scores: [0.3, 0.3, 0.3, 0.3], labels: [true, false, true, false])
        #expect(e.aucROC == 0.5)
        #expect(e.averagePrecision == 0.5)
        #expect(e.rocCurve.map { [$0.x, $0.y] } == [[0, 0], [1, 1]])
    }

    @Test func singleClassHasNoAUC() {
        #expect(BinaryEvaluation(scores: [0.2, 0.7], labels: [false, false]).aucROC.isNaN)
        #expect(BinaryEvaluation(scores: [0.2, 0.7], labels: [false, false]).averagePrecision.isNaN)
    }

    @Test func logLossIsTheMeanNegativeLogLikelihood() {
        // −(ln 0.9 + ln 0.8) / 2
        let e = BinaryEvaluation(scores: [0.9, 0.2], labels: [true, false])
        #expect(abs(e.logLoss - 0.164252033486018) < 1e-15)
        // A confident mistake is clipped at 1e-15, not infinite: −ln(1e-15) / 1.
        #expect(abs(BinaryEvaluation(scores: [0], labels: [true]).logLoss - 34.538776394910684) < 1e-9)
    }

    @Test func confusionAtThresholdFlagsScoresAtOrAbove() {
        let e = BinaryEvaluation(scores: [0.95, 0.9, 0.6, 0.5, 0.2], labels: [true, false, true, false, true])
        let c = e.confusion(at: 0.6)
        #expect([c.truePositives, c.falsePositives, c.falseNegatives, c.trueNegatives] == [2, 1, 1, 1])
        #expect(c.precision == 2.0 / 3.0)
        #expect(c.recall == 2.0 / 3.0)
        #expect(c.falsePositiveRate == 0.5)
        #expect(e.confusion(at: 0.99).precision.isNaN)
    }

    @Test func calibrationCutsEqualCountBinsByScore() {
        let scores = (0..<10).map { Double($0) / 16 } // binary fractions: the means are exact
        let labels = [false, false, false, false, false, true, false, true, true, true]
        let bins = BinaryEvaluation(scores: scores, labels: labels).calibration(bins: 5)
        #expect(bins.map(\.rows) == [2, 2, 2, 2, 2])
        #expect(bins.map(\.observedRate) == [0, 0, 0.5, 0.5, 1])
        #expect(bins.map(\.meanPredicted) == [0.03125, 0.15625, 0.28125, 0.40625, 0.53125])
        #expect(bins.map(\.lowestScore) == [0, 0.125, 0.25, 0.375, 0.5])
    }
}
