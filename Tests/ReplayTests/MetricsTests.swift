import FraudCore
import Model
import Testing
@testable import Replay

@Suite("Replay metrics")
struct MetricsTests {
    // fraud: 3 approve, 2 review, 5 decline; legit: 80 approve, 6 review, 4 decline.
    let matrix = ConfusionMatrix(fraud: OutcomeCounts(approve: 3, review: 2, decline: 5), legit: OutcomeCounts(approve: 80, review: 6, decline: 4))

    @Test("decline-only flagging: precision 5/9, recall 5/10, FPR 4/90, F1 10/19")
    func declineMetrics() {
        let m = matrix.metrics(flagging: [.decline])
        #expect(m == FlagMetrics(truePositives: 5, falsePositives: 4, falseNegatives: 5, trueNegatives: 86))
        #expect(m.precision == 5.0 / 9.0)
        #expect(m.recall == 0.5)
        #expect(m.falsePositiveRate == 4.0 / 90.0)
        #expect(abs(m.f1! - 10.0 / 19.0) < 1e-15)
    }

    @Test("decline or review: precision 7/17, recall 7/10, FPR 10/90")
    func flaggedMetrics() {
        let m = matrix.metrics(flagging: [.decline, .review])
        #expect(m == FlagMetrics(truePositives: 7, falsePositives: 10, falseNegatives: 3, trueNegatives: 80))
        #expect(m.precision == 7.0 / 17.0)
        #expect(m.recall == 0.7)
        #expect(m.falsePositiveRate == 1.0 / 9.0)
        // 2PR/(P+R) = 2·(7/17)(7/10)/((7/17)+(7/10)) = 14/27
        #expect(abs(m.f1! - 14.0 / 27.0) < 1e-15)
    }

    @Test("undefined ratios are nil: nothing flagged, no fraud")
    func undefined() {
        let nothingFlagged = ConfusionMatrix(fraud: OutcomeCounts(approve: 2), legit: OutcomeCounts(approve: 3)).metrics(flagging: [.decline])
        #expect(nothingFlagged.precision == nil)
        #expect(nothingFlagged.recall == 0)
        #expect(nothingFlagged.f1 == nil)
        let noFraud = ConfusionMatrix(legit: OutcomeCounts(approve: 3, decline: 1)).metrics(flagging: [.decline])
        #expect(noFraud.recall == nil)
        #expect(noFraud.precision == 0)
        #expect(noFraud.falsePositiveRate == 0.25)
    }

    @Test("histogram AUC by hand: fraud {0.9, 0.4}, legit {0.5, 0.1, 0.4} → (3 + 1 + 0.5 + 1) / 6")
    func handAUC() {
        var h = ScoreHistogram(binCount: 10)
        for s in [0.9, 0.4] { h.add(score: s, isFraud: true) }
        for s in [0.5, 0.1, 0.4] { h.add(score: s, isFraud: false) }
        // Pairs: 0.9 beats all three legit (3); 0.4 beats 0.1 (1), ties 0.4 (½), loses to 0.5.
        #expect(h.aucROC == 4.5 / 6)
        // Thresholds: 0.9 → P=1 R=½; 0.5 → no new recall; 0.4 → R=1, P=2/4. AP = ½·1 + ½·½.
        #expect(h.averagePrecision == 0.75)
        #expect(h.rocCurve.map(\.x) == [0, 0, 1.0 / 3, 2.0 / 3, 1])
    }

    @Test("histogram metrics equal BinaryEvaluation on the quantized scores", arguments: [1, 2, 3] as [UInt64])
    func matchesModelEvaluation(seed: UInt64) {
        var random = Fixtures.SplitMix(seed: seed)
        var histogram = ScoreHistogram(binCount: 1000)
        var scores: [Double] = [], labels: [Bool] = []
        for _ in 0..<5_000 {
            let fraud = Double.random(in: 0..<1, using: &random) < 0.1
            let score = min(1, max(0, Double.random(in: 0..<1, using: &random) * 0.7 + (fraud ? 0.3 : 0)))
            histogram.add(score: score, isFraud: fraud)
            scores.append(histogram.representative(of: histogram.bin(of: score)))
            labels.append(fraud)
        }
        let reference = BinaryEvaluation(scores: scores, labels: labels)
        #expect(abs(histogram.aucROC! - reference.aucROC) < 1e-12)
        #expect(abs(histogram.averagePrecision! - reference.averagePrecision) < 1e-12)
        #expect(histogram.rocCurve.count == reference.rocCurve.count)
    }

    @Test("a score of exactly 1 falls in the last bin; out-of-range scores are clamped")
    func binEdges() {
        let h = ScoreHistogram(binCount: 10_000)
        #expect(h.bin(of: 1) == 9_999)
        #expect(h.bin(of: 0.99995) == 9_999)
        #expect(h.bin(of: 0.00005) == 0)
        #expect(h.bin(of: -0.5) == 0)
        #expect(h.bin(of: .nan) == 0)
    }
}
