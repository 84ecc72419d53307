import Model

/// Model scores of labeled events in fixed bins, per class, in constant memory whatever the
/// length of the replay (a month of traffic does not keep a score per event).
///
/// Scores are quantized to `1 / binCount` (1e-4 by default). The ranking metrics are then exact
/// for the quantized scores, with the same tie rules as `Model.BinaryEvaluation` (a tied
/// fraud/legit pair counts ½ in AUC-ROC, a tie group is one threshold in average precision);
/// against unquantized scores they differ only by pairs whose scores fall in the same bin.
public struct ScoreHistogram: Hashable, Sendable {
    public let binCount: Int
    public private(set) var fraud: [Int]
    public private(set) var legit: [Int]

    public init(binCount: Int = 10_000) {
        precondition(binCount > 0, "a score histogram needs at least one bin")
        self.binCount = binCount
        fraud = [Int](repeating: 0, count: binCount)
        legit = [Int](repeating: 0, count: binCount)
    }

    /// The bin of a score in 0...1 (1 falls in the last bin; out-of-range scores are clamped).
    @inline(__always)
    public func bin(of score: Double) -> Int {
        guard score.isFinite else { return 0 }
        return min(max(Int(score * Double(binCount)), 0), binCount - 1)
    }

    /// The score every member of `bin` is counted as: the bin's lower edge.
    public func representative(of bin: Int) -> Double { Double(bin) / Double(binCount) }

    @inline(__always)
    public mutating func add(score: Double, isFraud: Bool) {
        let index = bin(of: score)
        if isFraud { fraud[index] += 1 } else { legit[index] += 1 }
    }

    public mutating func merge(_ other: ScoreHistogram) {
        precondition(other.binCount == binCount, "merging histograms of \(other.binCount) and \(binCount) bins")
        for i in 0..<binCount {
            fraud[i] += other.fraud[i]
            legit[i] += other.legit[i]
        }
    }

    public var positives: Int { fraud.reduce(0, +) }
    public var negatives: Int { legit.reduce(0, +) }

    /// Cumulative (true positives, false positives) at each non-empty bin, highest score first.
    public var thresholds: [(score: Double, truePositives: Int, falsePositives: Int)] {
        var out: [(score: Double, truePositives: Int, falsePositives: Int)] = []
        var tp = 0, fp = 0
        for bin in stride(from: binCount - 1, through: 0, by: -1) where fraud[bin] + legit[bin] > 0 {
            tp += fraud[bin]
            fp += legit[bin]
            out.append((representative(of: bin), tp, fp))
        }
        return out
    }

    /// Area under the ROC curve (the model's `BinaryEvaluation` math); nil without both classes.
    public var aucROC: Double? {
        BinaryEvaluation.aucROC(thresholds: thresholds, positives: positives, negatives: negatives).definedValue
    }

    /// Average precision Σ (Rₖ − Rₖ₋₁)·Pₖ over the thresholds; nil without fraud.
    public var averagePrecision: Double? {
        BinaryEvaluation.averagePrecision(thresholds: thresholds, positives: positives).definedValue
    }

    /// ROC points (false-positive rate, true-positive rate) from (0, 0) to (1, 1).
    public var rocCurve: [(x: Double, y: Double)] {
        let positives = positives, negatives = negatives
        guard positives > 0, negatives > 0 else { return [] }
        return [(0, 0)] + thresholds.map { (Double($0.falsePositives) / Double(negatives), Double($0.truePositives) / Double(positives)) }
    }

    /// Precision-recall points (recall, precision), highest threshold first.
    public var precisionRecallCurve: [(x: Double, y: Double)] {
        let positives = positives
        guard positives > 0 else { return [] }
        return thresholds.map { (Double($0.truePositives) / Double(positives), Double($0.truePositives) / Double($0.truePositives + $0.falsePositives)) }
    }

    /// Counts per class in `bins` equal-width groups over 0...1 (for a distribution chart).
    public func coarse(bins: Int) -> (fraud: [Int], legit: [Int]) {
        var coarseFraud = [Int](repeating: 0, count: bins), coarseLegit = [Int](repeating: 0, count: bins)
        for bin in 0..<binCount {
            let target = bin * bins / binCount
            coarseFraud[target] += fraud[bin]
            coarseLegit[target] += legit[bin]
        }
        return (coarseFraud, coarseLegit)
    }
}

extension Array where Element == (x: Double, y: Double) {
    /// At most about `limit` points, keeping the first and last and every point that moves far
    /// enough from the previous kept one: curves stay faithful and the SVG stays small.
    public func thinned(to limit: Int) -> [(x: Double, y: Double)] {
        guard count > limit, limit > 2 else { return self }
        let spacing = 2.0 / Double(limit)
        var out: [(x: Double, y: Double)] = [self[0]]
        for point in self.dropFirst().dropLast() {
            let last = out[out.count - 1]
            if abs(point.x - last.x) + abs(point.y - last.y) >= spacing { out.append(point) }
        }
        out.append(self[count - 1])
        return out
    }
}
