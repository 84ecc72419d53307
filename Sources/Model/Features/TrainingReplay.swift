import Features
import FraudCore

/// Replays labeled events through a feature store, in the order given (arrival order, as the
/// engine would have seen them), and collects the model's raw feature values of every labeled
/// event: the training matrix.
///
/// Unlabeled events still go through the store (they are part of the traffic every window
/// sees) but yield no training row.
public final class TrainingReplay {
    public let extractor: ModelFeatureExtractor
    public let plan: FeaturePlan
    private let store: any FeatureStore
    public private(set) var matrix: LabeledMatrix
    public private(set) var unlabeled = 0
    public private(set) var duplicates = 0
    public private(set) var tooLate = 0
    private var features: [Double] = []
    private var raw: [Double] = []

    public init(extractor: ModelFeatureExtractor, plan: FeaturePlan, store: any FeatureStore) {
        self.extractor = extractor
        self.plan = plan
        self.store = store
        self.matrix = LabeledMatrix(featureNames: extractor.names)
    }

    /// Processes one batch: updates the windows, reads the plan's features, evaluates the
    /// model's expressions, appends a row per labeled event.
    /// - Returns: the raw model features of the batch (`events.count × columns`), for callers
    ///   that compare them (the train/serve consistency test).
    @discardableResult
    public func process(_ events: [PaymentEvent]) async throws -> [Double] {
        let report = try await store.process(events, plan: plan, mode: .update, into: &features)
        duplicates += report.duplicates
        tooLate += report.tooLate
        extractor.extract(events: events, features: features, featureCount: plan.count, into: &raw)
        let p = matrix.columns
        for (index, event) in events.enumerated() {
            guard let label = event.label else {
                unlabeled += 1
                continue
            }
            matrix.append(row: raw[(index * p)..<((index + 1) * p)], label: label == .fraud, time: event.occurredAt)
        }
        return raw
    }
}
