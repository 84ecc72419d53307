import Model

/// Label-based quality of one way of flagging events (decline, review, or either).
///
/// Precision, recall and false-positive rate come from the model's `Confusion` so the replay and
/// the training report share one definition; undefined ratios (nothing flagged, no fraud) are nil.
public struct FlagMetrics: Codable, Hashable, Sendable {
    public var truePositives = 0
    public var falsePositives = 0
    public var falseNegatives = 0
    public var trueNegatives = 0

    public init(truePositives: Int = 0, falsePositives: Int = 0, falseNegatives: Int = 0, trueNegatives: Int = 0) {
        self.truePositives = truePositives
        self.falsePositives = falsePositives
        self.falseNegatives = falseNegatives
        self.trueNegatives = trueNegatives
    }

    private var confusion: Confusion {
        // The threshold is meaningless for outcome-based flagging; the counts are what matter.
        var confusion = Confusion(threshold: 0)
        confusion.truePositives = truePositives
        confusion.falsePositives = falsePositives
        confusion.falseNegatives = falseNegatives
        confusion.trueNegatives = trueNegatives
        return confusion
    }

    /// Share of flagged events that are fraud.
    public var precision: Double? { confusion.precision.definedValue }
    /// Share of fraud events that are flagged.
    public var recall: Double? { confusion.recall.definedValue }
    /// Share of legit events that are flagged: the friction cost to good customers.
    public var falsePositiveRate: Double? { confusion.falsePositiveRate.definedValue }

    /// Harmonic mean of precision and recall; nil when either is undefined, 0 when both are 0.
    public var f1: Double? {
        guard let precision, let recall else { return nil }
        return precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall)
    }

    private enum CodingKeys: String, CodingKey {
        case truePositives = "true_positives", falsePositives = "false_positives"
        case falseNegatives = "false_negatives", trueNegatives = "true_negatives"
        case precision, recall, f1, falsePositiveRate = "false_positive_rate"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        truePositives = try container.decode(Int.self, forKey: .truePositives)
        falsePositives = try container.decode(Int.self, forKey: .falsePositives)
        falseNegatives = try container.decode(Int.self, forKey: .falseNegatives)
        trueNegatives = try container.decode(Int.self, forKey: .trueNegatives)
    }

    /// Writes the counts and the derived ratios (null when undefined), so consumers of the JSON
    /// need not recompute them.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(truePositives, forKey: .truePositives)
        try container.encode(falsePositives, forKey: .falsePositives)
        try container.encode(falseNegatives, forKey: .falseNegatives)
        try container.encode(trueNegatives, forKey: .trueNegatives)
        try container.encode(precision, forKey: .precision)
        try container.encode(recall, forKey: .recall)
        try container.encode(f1, forKey: .f1)
        try container.encode(falsePositiveRate, forKey: .falsePositiveRate)
    }
}

extension Double {
    /// Nil for NaN, so undefined ratios become JSON null rather than an encoding failure.
    var definedValue: Double? { isNaN ? nil : self }
}
