#if canImport(Glibc)
import Glibc
#endif

/// Ranking and probability metrics of scores against fraud labels, computed from one sort.
///
/// Ties are handled exactly: tied scores share one threshold, so AUC-ROC counts a tied
/// (fraud, legit) pair as half correct and the curves step over a tie group at once.
public struct BinaryEvaluation: Sendable {
    public let scores: [Double]
    public let labels: [Bool]
    public let positives: Int
    public var negatives: Int { labels.count - positives }
    /// Distinct thresholds, highest score first: (score, cumulative true positives, cumulative false positives).
    public let thresholds: [(score: Double, truePositives: Int, falsePositives: Int)]

    public init(scores: [Double], labels: [Bool]) {
        precondition(scores.count == labels.count, "\(scores.count) scores for \(labels.count) labels")
        self.scores = scores
        self.labels = labels
        self.positives = labels.reduce(0) { $0 + ($1 ? 1 : 0) }
        let order = scores.indices.sorted { scores[$0] > scores[$1] }
        var thresholds: [(score: Double, truePositives: Int, falsePositives: Int)] = []
        var tp = 0, fp = 0
        for (k, index) in order.enumerated() {
            if labels[index] { tp += 1 } else { fp += 1 }
            let isLastOfGroup = k == order.count - 1 || scores[order[k + 1]] != scores[index]
            if isLastOfGroup { thresholds.append((scores[index], tp, fp)) }
        }
        self.thresholds = thresholds
    }

    /// Area under the ROC curve: P(score of a random fraud > score of a random legit), ties
    /// counting ½. NaN when either class is absent.
    public var aucROC: Double {
        Self.aucROC(thresholds: thresholds, positives: positives, negatives: negatives)
    }

    /// AUC-ROC from cumulative counts at distinct thresholds, highest first (shared with
    /// histogram-based evaluations such as the replay's, which never hold a score per event).
    public static func aucROC(thresholds: [(score: Double, truePositives: Int, falsePositives: Int)], positives: Int, negatives: Int) -> Double {
        guard positives > 0, negatives > 0 else { return .nan }
        // Trapezoids between consecutive thresholds; a tie group's diagonal segment is the ½.
        var area = 0.0, previousTP = 0, previousFP = 0
        for t in thresholds {
            area += Double(t.falsePositives - previousFP) * Double(t.truePositives + previousTP) / 2
            previousTP = t.truePositives
            previousFP = t.falsePositives
        }
        return area / (Double(positives) * Double(negatives))
    }

    /// Average precision, AP = Σₖ (Rₖ − Rₖ₋₁) · Pₖ over the distinct thresholds (scikit-learn's
    /// `average_precision_score`; no interpolation). NaN without a fraud label.
    public var averagePrecision: Double {
        Self.averagePrecision(thresholds: thresholds, positives: positives)
    }

    /// Average precision from cumulative counts at distinct thresholds, highest first.
    public static func averagePrecision(thresholds: [(score: Double, truePositives: Int, falsePositives: Int)], positives: Int) -> Double {
        guard positives > 0 else { return .nan }
        var ap = 0.0, previousRecall = 0.0
        for t in thresholds {
            let recall = Double(t.truePositives) / Double(positives)
            let precision = Double(t.truePositives) / Double(t.truePositives + t.falsePositives)
            ap += (recall - previousRecall) * precision
            previousRecall = recall
        }
        return ap
    }

    /// Mean negative log-likelihood, probabilities clipped to [1e-15, 1 − 1e-15] as scikit-learn does.
    public var logLoss: Double {
        guard !scores.isEmpty else { return .nan }
        var sum = 0.0
        for (p, fraud) in zip(scores, labels) {
            let clipped = min(max(p, 1e-15), 1 - 1e-15)
            sum -= fraud ? log(clipped) : log(1 - clipped)
        }
        return sum / Double(scores.count)
    }

    /// The confusion counts when every score ≥ `threshold` is flagged.
    public func confusion(at threshold: Double) -> Confusion {
        var c = Confusion(threshold: threshold)
        for (score, fraud) in zip(scores, labels) {
            switch (score >= threshold, fraud) {
            case (true, true): c.truePositives += 1
            case (true, false): c.falsePositives += 1
            case (false, true): c.falseNegatives += 1
            case (false, false): c.trueNegatives += 1
            }
        }
        return c
    }

    /// Rows sorted by score and cut into `bins` groups of equal count (the last ones one row
    /// larger when the count does not divide): mean predicted probability vs observed fraud rate.
    public func calibration(bins: Int = 10) -> [CalibrationBin] {
        let order = scores.indices.sorted { scores[$0] < scores[$1] }
        let n = order.count
        guard n > 0, bins > 0 else { return [] }
        return (0..<bins).compactMap { bin in
            let range = (bin * n / bins)..<((bin + 1) * n / bins)
            guard !range.isEmpty else { return nil }
            var predicted = 0.0, frauds = 0
            for k in range {
                predicted += scores[order[k]]
                if labels[order[k]] { frauds += 1 }
            }
            return CalibrationBin(
                rows: range.count, lowestScore: scores[order[range.lowerBound]], highestScore: scores[order[range.upperBound - 1]],
                meanPredicted: predicted / Double(range.count), observedRate: Double(frauds) / Double(range.count)
            )
        }
    }

    /// ROC curve points (false positive rate, true positive rate) from (0, 0) to (1, 1).
    public var rocCurve: [(x: Double, y: Double)] {
        guard positives > 0, negatives > 0 else { return [] }
        return [(0, 0)] + thresholds.map { (Double($0.falsePositives) / Double(negatives), Double($0.truePositives) / Double(positives)) }
    }

    /// Precision-recall curve points (recall, precision), highest threshold first.
    public var precisionRecallCurve: [(x: Double, y: Double)] {
        guard positives > 0 else { return [] }
        return thresholds.map { (Double($0.truePositives) / Double(positives), Double($0.truePositives) / Double($0.truePositives + $0.falsePositives)) }
    }
}

/// Confusion counts at one threshold.
public struct Confusion: Equatable, Sendable {
    public var threshold: Double
    public var truePositives = 0, falsePositives = 0, falseNegatives = 0, trueNegatives = 0

    public init(threshold: Double) { self.threshold = threshold }

    /// Share of flagged rows that are fraud; NaN when nothing is flagged.
    public var precision: Double {
        let flagged = truePositives + falsePositives
        return flagged == 0 ? .nan : Double(truePositives) / Double(flagged)
    }

    /// Share of fraud rows that are flagged; NaN without fraud.
    public var recall: Double {
        let frauds = truePositives + falseNegatives
        return frauds == 0 ? .nan : Double(truePositives) / Double(frauds)
    }

    /// Share of legit rows that are flagged (the customer-friction cost).
    public var falsePositiveRate: Double {
        let legit = falsePositives + trueNegatives
        return legit == 0 ? .nan : Double(falsePositives) / Double(legit)
    }
}

/// One row of a calibration table.
public struct CalibrationBin: Equatable, Sendable {
    public var rows: Int
    public var lowestScore: Double
    public var highestScore: Double
    public var meanPredicted: Double
    public var observedRate: Double
}
