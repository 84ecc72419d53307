import FraudCore
#if canImport(Glibc)
import Glibc
#endif

/// Fits a `LogisticModel` to a labeled matrix: time split, standardization fitted on the
/// training split, L2-regularized logistic regression by L-BFGS in double precision, early
/// stopping on the validation log loss, and validation metrics.
public struct LogisticRegressionTrainer: Sendable {
    public struct Options: Sendable {
        /// λ in `(1/n)·Σ sᵢ·ℓᵢ + (λ/2)·‖w‖²`.
        public var l2 = 1e-4
        public var classWeight = ClassWeighting.none
        /// The last share of the event-time range held out for validation and early stopping.
        public var validationFraction = 0.2
        public var maxIterations = 500
        /// Stop after this many iterations without a lower validation loss, keeping the best.
        public var patience = 20
        public init() {}
    }

    /// One L-BFGS iteration, for progress lines and the report.
    public struct Iteration: Sendable {
        public var number: Int
        public var objective: Double
        /// NaN without a validation split.
        public var validationLoss: Double
    }

    public struct Result: Sendable {
        public var model: LogisticModel
        public var split: TimeSplit
        public var scaling: FeatureScaling
        /// Scores of the validation rows (or of the training rows when there is no validation split).
        public var evaluation: BinaryEvaluation
        public var history: [Iteration]
        public var stopReason: String
        /// What the caller should tell the user, e.g. a validation split with a single class.
        public var warnings: [String] = []
    }

    /// Why a matrix cannot be trained on (an unusable time split, a missing class).
    public struct TrainingError: Error, Equatable, CustomStringConvertible {
        public let description: String
        public init(_ description: String) { self.description = description }
    }

    /// The fewest rows the training split may have: below this the fitted weights (one per
    /// feature plus the bias) and the standardization mean little.
    public static let minimumTrainingRows = 50
    /// The fewest rows a validation split (validation fraction above 0) may have: below this
    /// early stopping and the validation metrics are noise.
    public static let minimumValidationRows = 50

    public var options: Options

    public init(options: Options = Options()) { self.options = options }

    /// - Parameters:
    ///   - name, input, seed: recorded in the model's training summary.
    ///   - progress: called after every iteration (the CLI draws a progress line from it).
    public func fit(
        _ matrix: LabeledMatrix, name: String, input: String, seed: UInt64?,
        progress: (Iteration) -> Void = { _ in }
    ) throws(TrainingError) -> Result {
        let split = TimeSplit(times: matrix.times, validationFraction: options.validationFraction)
        try Self.check(split, times: matrix.times, validationFraction: options.validationFraction)
        let scaling = FeatureScaling(fitting: matrix, rows: split.trainRows)
        let trainLabels = split.trainRows.map { matrix.labels[$0] }
        let validationLabels = split.validationRows.map { matrix.labels[$0] }
        let trainFrauds = trainLabels.reduce(0) { $0 + ($1 ? 1 : 0) }
        guard trainFrauds > 0, trainFrauds < trainLabels.count else {
            let (missing, present) = trainFrauds == 0 ? ("fraud", "legit") : ("legit", "fraud")
            throw TrainingError(
                "the training split's \(trainLabels.count) rows are all \(present): a model needs both fraud and legit rows to learn from; "
                    + "use labeled events with both labels before the validation cutoff (\(missing) rows are missing)"
            )
        }
        var warnings: [String] = []
        let validationFrauds = validationLabels.reduce(0) { $0 + ($1 ? 1 : 0) }
        // A single-class validation split has no AUC and its log loss only rewards pushing every
        // score one way, so it neither stops the fit early nor yields ranking metrics.
        let validates = validationFrauds > 0 && validationFrauds < validationLabels.count
        if !validationLabels.isEmpty, !validates {
            warnings.append(
                "the validation split's \(validationLabels.count) rows are all \((validationFrauds == 0) ? "legit" : "fraud"): "
                    + "no early stopping, and validation AUC-ROC and AUC-PR are undefined (n/a); use more labeled events or a larger validation fraction"
            )
        }
        let classWeights = Self.classWeights(trainLabels, options.classWeight)
        let train = LogisticObjective(
            design: scaling.standardized(matrix, rows: split.trainRows), labels: trainLabels.map { $0 ? 1 : 0 },
            sampleWeights: trainLabels.map { $0 ? classWeights.fraud : classWeights.legit }, columns: matrix.columns, l2: options.l2
        )
        let validation = LogisticObjective(
            design: scaling.standardized(matrix, rows: split.validationRows), labels: validationLabels.map { $0 ? 1 : 0 },
            sampleWeights: validationLabels.map { $0 ? classWeights.fraud : classWeights.legit }, columns: matrix.columns, l2: options.l2
        )

        var history: [Iteration] = []
        var best = (loss: Double.infinity, theta: [Double](), iteration: 0)
        var optimizer = LBFGS()
        optimizer.maxIterations = options.maxIterations
        let start = Self.initialTheta(columns: matrix.columns, labels: trainLabels, weights: classWeights)
        let outcome = optimizer.minimize(
            from: start,
            evaluate: { theta, gradient in train.evaluate(theta, gradient: &gradient) },
            observe: { iteration, theta, objective in
                let loss = validation.rows > 0 ? validation.meanLoss(theta) : .nan
                let step = Iteration(number: iteration, objective: objective, validationLoss: loss)
                history.append(step)
                progress(step)
                guard validates else { return true }
                if loss < best.loss * (1 - 1e-9) { best = (loss, theta, iteration) }
                return iteration - best.iteration < options.patience
            }
        )
        let useBest = validates && !best.theta.isEmpty && best.loss < validation.meanLoss(outcome.x)
        let theta = useBest ? best.theta : outcome.x
        let stopReason = outcome.stopReason.rawValue

        let evaluated = validation.rows > 0 ? validation : train
        let evaluation = BinaryEvaluation(
            scores: evaluated.probabilities(theta),
            labels: validation.rows > 0 ? validationLabels : trainLabels
        )
        let features = matrix.featureNames.indices.map { j in
            ModelFeature(
                expression: matrix.featureNames[j], weight: theta[j], mean: scaling.means[j], std: scaling.stds[j],
                clipLower: scaling.lower[j], clipUpper: scaling.upper[j]
            )
        }
        let times = { (rows: [Int]) -> (EventTime, EventTime) in
            let t = rows.map { matrix.times[$0] }
            let zero = EventTime(millisecondsSinceEpoch: 0)
            return (t.min() ?? zero, t.max() ?? zero)
        }
        let (trainFrom, trainTo) = times(split.trainRows)
        let (validationFrom, validationTo) = times(split.validationRows)
        let frauds = matrix.labels.reduce(0) { $0 + ($1 ? 1 : 0) }
        let summary = TrainingSummary(
            input: input, trainRows: split.trainRows.count, validationRows: split.validationRows.count,
            fraudRate: matrix.rows > 0 ? Double(frauds) / Double(matrix.rows) : 0,
            trainFrom: trainFrom, trainTo: trainTo, validationFrom: validationFrom, validationTo: validationTo,
            seed: seed, l2: options.l2, classWeight: options.classWeight,
            iterations: useBest ? best.iteration : outcome.iterations, stopReason: stopReason
        )
        let metrics = EvaluationSummary(
            rows: evaluation.scores.count, aucROC: Self.defined(evaluation.aucROC),
            aucPR: Self.defined(evaluation.averagePrecision), logLoss: Self.finiteOrZero(evaluation.logLoss)
        )
        let model = LogisticModel(name: name, features: features, bias: theta[matrix.columns], training: summary, evaluation: metrics)
        return Result(model: model, split: split, scaling: scaling, evaluation: evaluation, history: history, stopReason: stopReason, warnings: warnings)
    }

    /// Refuses a split that leaves too few rows on either side.
    static func check(_ split: TimeSplit, times: [EventTime], validationFraction: Double) throws(TrainingError) {
        let train = split.trainRows.count, validation = split.validationRows.count
        if validationFraction == 0 {
            guard train >= minimumTrainingRows else {
                throw TrainingError("\(train) labeled rows are too few to train on (at least \(minimumTrainingRows)); use more labeled events")
            }
            return
        }
        guard train < minimumTrainingRows || validation < minimumValidationRows else { return }
        let shown = "the time split at the \(1 - validationFraction) quantile of the event times (validation fraction \(validationFraction)) "
            + "leaves \(train) training and \(validation) validation rows; training needs at least \(minimumTrainingRows) rows "
            + "and validation at least \(minimumValidationRows)"
        if let first = times.min(), first == times.max() {
            throw TrainingError(
                "\(shown): all \(times.count) rows have the same event time \(first), so none is later than another to validate on; "
                    + "give the events their real event times, or train without validation (validation fraction 0)"
            )
        }
        let tied = times.reduce(0) { $0 + ($1 == split.cutoff ? 1 : 0) }
        let ties = tied > 1 ? " (\(tied) rows share the cutoff time \(split.cutoff) and all go to validation)" : ""
        throw TrainingError("\(shown)\(ties); use more labeled events spread over time, or change the validation fraction")
    }

    /// Fits θ = [w, b] on an already standardized design matrix: the core that the tests check
    /// against an independent Newton solver and the parity script against scikit-learn.
    public static func fitStandardized(design: [Double], labels: [Bool], columns: Int, l2: Double, sampleWeights: [Double]? = nil) -> LBFGS.Result {
        let weights = sampleWeights ?? [Double](repeating: 1, count: labels.count)
        let objective = LogisticObjective(design: design, labels: labels.map { $0 ? 1 : 0 }, sampleWeights: weights, columns: columns, l2: l2)
        return LBFGS().minimize(from: [Double](repeating: 0, count: columns + 1)) { theta, gradient in
            objective.evaluate(theta, gradient: &gradient)
        }
    }

    /// Per-class sample weights: 1 each, or n / (2·n_class) for `balanced`.
    public static func classWeights(_ labels: [Bool], _ weighting: ClassWeighting) -> (fraud: Double, legit: Double) {
        let frauds = labels.reduce(0) { $0 + ($1 ? 1 : 0) }, legit = labels.count - frauds
        guard weighting == .balanced, frauds > 0, legit > 0 else { return (1, 1) }
        let n = Double(labels.count)
        return (n / (2 * Double(frauds)), n / (2 * Double(legit)))
    }

    /// Starts at w = 0 with the bias at the (weighted) log-odds of fraud, the optimum for w = 0,
    /// which saves the first dozen iterations at a 1% fraud rate.
    private static func initialTheta(columns: Int, labels: [Bool], weights: (fraud: Double, legit: Double)) -> [Double] {
        var theta = [Double](repeating: 0, count: columns + 1)
        let frauds = Double(labels.reduce(0) { $0 + ($1 ? 1 : 0) }), legit = Double(labels.count) - frauds
        if frauds > 0, legit > 0 { theta[columns] = log((frauds * weights.fraud) / (legit * weights.legit)) }
        return theta
    }

    private static func finiteOrZero(_ x: Double) -> Double { x.isFinite ? x : 0 }

    /// nil for an undefined metric (NaN: AUC of a single class), never a misleading 0.
    private static func defined(_ x: Double) -> Double? { x.isFinite ? x : nil }
}
