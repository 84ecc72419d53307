import FraudCore

/// A trained logistic-regression model as the engine scores it: `P(fraud) = σ(b + Σ wᵢ·zᵢ)`.
///
/// Each feature is a rules-DSL expression (`log1p(amount_usd)`, `count(card_fingerprint,1h)`).
/// Its raw value x is clipped to `[clipLower, clipUpper]`, then standardized to
/// `z = (x − mean) / std`. A missing raw value (NaN: an average over no events, a field the event
/// lacks) is imputed to the training mean, i.e. z = 0, so it contributes nothing to the logit.
public struct LogisticModel: Hashable, Sendable {
    /// The model file format this code reads and writes.
    public static let formatVersion = 1

    /// Short name, e.g. `default`; the first half of `version`.
    public var name: String
    public var features: [ModelFeature]
    public var bias: Double
    /// How the model was fitted; informational, not used for scoring.
    public var training: TrainingSummary
    /// Metrics on the held-out validation split; informational.
    public var evaluation: EvaluationSummary

    public init(name: String, features: [ModelFeature], bias: Double, training: TrainingSummary, evaluation: EvaluationSummary) {
        self.name = name
        self.features = features
        self.bias = bias
        self.training = training
        self.evaluation = evaluation
    }

    /// SHA-256 of everything that changes a score (format version, bias, and each feature's
    /// expression, weight, standardization and clip bounds), in a canonical text form. Training
    /// metadata is excluded: re-training to the same coefficients gives the same hash.
    public var contentHash: String {
        var hasher = SHA256()
        hasher.update("waqiti-logistic-model\nformat_version=\(Self.formatVersion)\nbias=\(bias)\n")
        for feature in features {
            hasher.update("\(feature.expression)\t\(feature.weight)\t\(feature.mean)\t\(feature.std)\t\(feature.clipLower)\t\(feature.clipUpper)\n")
        }
        return hasher.finalizeHex()
    }

    /// `model_version` in decisions: the name and the first 12 hex digits of the content hash,
    /// e.g. `default@3f2a9c1b4d5e`.
    public var version: String { "\(name)@\(contentHash.prefix(12))" }
}

/// One model input: a DSL expression with its learned weight and training statistics.
public struct ModelFeature: Hashable, Sendable {
    /// The rules-DSL expression, e.g. `count(card_fingerprint,1h)` or `channel == "ecom"`.
    public var expression: String
    public var weight: Double
    /// Mean and standard deviation of the clipped raw value over the training split (std > 0).
    public var mean: Double
    public var std: Double
    /// Raw values are clamped to this range before standardization (training sets it to the
    /// training split's minimum and maximum, `FeatureScaling`, so the model never extrapolates).
    public var clipLower: Double
    public var clipUpper: Double

    public init(expression: String, weight: Double, mean: Double, std: Double, clipLower: Double, clipUpper: Double) {
        self.expression = expression
        self.weight = weight
        self.mean = mean
        self.std = std
        self.clipLower = clipLower
        self.clipUpper = clipUpper
    }

    /// The standardized value the weight multiplies: clipped, centred, scaled; 0 when missing.
    @inlinable
    public func standardize(_ raw: Double) -> Double {
        Self.standardize(raw, lower: clipLower, upper: clipUpper, mean: mean, std: std)
    }

    /// The one definition of the transform, shared by scoring and training.
    @inlinable
    public static func standardize(_ raw: Double, lower: Double, upper: Double, mean: Double, std: Double) -> Double {
        guard !raw.isNaN else { return 0 }
        return (min(max(raw, lower), upper) - mean) / std
    }
}

/// How a model was fitted: recorded in the model file for audit and reproducibility.
public struct TrainingSummary: Hashable, Sendable {
    /// The labeled events file the model was trained on, as given on the command line.
    public var input: String
    public var trainRows: Int
    public var validationRows: Int
    /// Share of fraud labels among all rows (train + validation).
    public var fraudRate: Double
    /// Event-time range of the training split and of the validation split.
    public var trainFrom: EventTime
    public var trainTo: EventTime
    public var validationFrom: EventTime
    public var validationTo: EventTime
    /// Seed of the simulated data, when the input was simulated (`waqiti simulate --seed`).
    public var seed: UInt64?
    /// L2 strength λ of the objective `(1/n)·Σ sᵢ·ℓᵢ + (λ/2)·‖w‖²` (bias not penalized).
    public var l2: Double
    public var classWeight: ClassWeighting
    public var iterations: Int
    /// Why the optimizer stopped: `converged`, `early_stopping`, `max_iterations`.
    public var stopReason: String

    public init(
        input: String, trainRows: Int, validationRows: Int, fraudRate: Double,
        trainFrom: EventTime, trainTo: EventTime, validationFrom: EventTime, validationTo: EventTime,
        seed: UInt64?, l2: Double, classWeight: ClassWeighting, iterations: Int, stopReason: String
    ) {
        self.input = input
        self.trainRows = trainRows
        self.validationRows = validationRows
        self.fraudRate = fraudRate
        self.trainFrom = trainFrom
        self.trainTo = trainTo
        self.validationFrom = validationFrom
        self.validationTo = validationTo
        self.seed = seed
        self.l2 = l2
        self.classWeight = classWeight
        self.iterations = iterations
        self.stopReason = stopReason
    }
}

/// Per-class sample weights in the training objective.
public enum ClassWeighting: String, Hashable, Sendable, CaseIterable {
    /// Every row weighs 1: probabilities stay calibrated to the base fraud rate.
    case none
    /// Each class weighs n / (2·n_class), as scikit-learn's `class_weight="balanced"`: fraud rows
    /// count ~50× at a 1% fraud rate; scores rank well but overstate the probability of fraud.
    case balanced
}

/// Validation metrics recorded in the model file.
public struct EvaluationSummary: Hashable, Sendable {
    public var rows: Int
    /// nil when the evaluated rows have a single class (AUC is undefined); `null` in the file.
    public var aucROC: Double?
    /// Average precision, the area under the precision-recall curve; nil as `aucROC`.
    public var aucPR: Double?
    public var logLoss: Double

    public init(rows: Int, aucROC: Double?, aucPR: Double?, logLoss: Double) {
        self.rows = rows
        self.aucROC = aucROC
        self.aucPR = aucPR
        self.logLoss = logLoss
    }
}
