/// Metrics of scores against labels as Markdown tables: the summary (AUC-ROC, average
/// precision, log loss), precision and recall at the operating thresholds, and the calibration
/// table. `waqiti evaluate` prints it; the training report embeds it.
public struct MetricsReport: Sendable {
    public let evaluation: BinaryEvaluation
    public let thresholds: [Double]

    public init(evaluation: BinaryEvaluation, thresholds: [Double]) {
        self.evaluation = evaluation
        self.thresholds = thresholds
    }

    public var markdown: String {
        let e = evaluation
        var out = "| metric | value |\n|---|---|\n"
        out += "| rows | \(e.scores.count) (\(e.positives) fraud, \(e.negatives) legit) |\n"
        out += "| fraud rate | \(Self.percent(e.scores.isEmpty ? .nan : Double(e.positives) / Double(e.scores.count))) |\n"
        out += "| AUC-ROC | \(Self.fixed(e.aucROC, 4)) |\n"
        out += "| AUC-PR (average precision) | \(Self.fixed(e.averagePrecision, 4)) |\n"
        out += "| log loss | \(Self.fixed(e.logLoss, 5)) |\n\n"
        out += "Flagged = model_score ≥ threshold.\n\n"
        out += "| threshold | flagged | precision | recall | false positive rate | TP | FP | FN |\n|---|---|---|---|---|---|---|---|\n"
        for threshold in thresholds {
            let c = e.confusion(at: threshold)
            out += "| \(threshold) | \(c.truePositives + c.falsePositives) | \(Self.percent(c.precision)) | \(Self.percent(c.recall)) | "
                + "\(Self.percent(c.falsePositiveRate)) | \(c.truePositives) | \(c.falsePositives) | \(c.falseNegatives) |\n"
        }
        out += "\nCalibration (rows sorted by score, ten equal-count bins):\n\n"
        out += "| decile | rows | score range | mean predicted | observed fraud rate |\n|---|---|---|---|---|\n"
        for (index, bin) in e.calibration(bins: 10).enumerated() {
            out += "| \(index + 1) | \(bin.rows) | \(Self.fixed(bin.lowestScore, 4))–\(Self.fixed(bin.highestScore, 4)) | "
                + "\(Self.percent(bin.meanPredicted)) | \(Self.percent(bin.observedRate)) |\n"
        }
        return out
    }

    static func fixed(_ value: Double, _ digits: Int) -> String {
        guard value.isFinite else { return "n/a" }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let rounded = (value * scale).rounded() / scale
        var text = String(rounded)
        if let dot = text.firstIndex(of: "."), !text.contains("e") {
            let decimals = text.distance(from: dot, to: text.endIndex) - 1
            if decimals < digits { text += String(repeating: "0", count: digits - decimals) }
        }
        return text
    }

    static func percent(_ value: Double) -> String {
        value.isFinite ? fixed(value * 100, 2) + "%" : "n/a"
    }
}
