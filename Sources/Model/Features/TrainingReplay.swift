import Features
import FraudCore

/// Replays labeled events through a feature store, in the order given (arrival order, as the
/// engine would have seen them), and collects the model's raw feature values of every labeled
/// event: the training matrix.
///
/// Unlabeled events still go through the store (they are part of the traffic every window
/// sees) but yield no training row. A redelivered event (a payment_id seen before) yields no
/// second row, as the engine makes no second decision for it.
public final class TrainingReplay {
    public let extractor: ModelFeatureExtractor
    public let plan: FeaturePlan
    private let store: any FeatureStore
    public private(set) var matrix: LabeledMatrix
    public private(set) var unlabeled = 0
    public private(set) var duplicates = 0
    public private(set) var tooLate = 0
    private var seen = Set<String>()
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
        for (index, event) in events.enumerated() where seen.insert(event.paymentID).inserted {
            guard let label = event.label else {
                unlabeled += 1
                continue
            }
            matrix.append(row: raw[(index * p)..<((index + 1) * p)], label: label == .fraud, time: event.occurredAt)
        }
        return raw
    }
}

extension TrainingReplay {
    /// What reading a labeled events file found, besides the matrix.
    public struct FileSummary: Sendable {
        public var events = 0
        public var malformedLines = 0
        /// The first few malformed lines, `file:line: reason`, to show the user.
        public var firstErrors: [String] = []

        /// Lines for the report and the terminal.
        public func notes(unlabeled: Int, duplicates: Int, tooLate: Int) -> [String] {
            var notes = ["\(events) events replayed through the in-memory feature store"]
            if malformedLines > 0 { notes.append("\(malformedLines) malformed lines skipped, first: \(firstErrors.joined(separator: "; "))") }
            if unlabeled > 0 { notes.append("\(unlabeled) events without a label fed the windows but are not training rows") }
            if duplicates > 0 { notes.append("\(duplicates) redelivered events (repeated payment_id) changed no window") }
            if tooLate > 0 { notes.append("\(tooLate) events arrived later than the allowed lateness") }
            return notes
        }
    }

    /// Replays a JSON Lines file of events in file (arrival) order, in batches as the engine reads
    /// them. Malformed lines are skipped and counted, never silently.
    /// - Parameter progress: called after each batch with the events replayed so far.
    public func replay(file path: String, batchSize: Int = 1024, progress: (Int) -> Void = { _ in }) async throws -> FileSummary {
        let reader = try JSONLinesReader(path: path)
        var summary = FileSummary()
        while let batch = try reader.nextBatch(maxLines: batchSize) {
            summary.malformedLines += batch.errors.count
            for error in batch.errors.prefix(max(0, 3 - summary.firstErrors.count)) { summary.firstErrors.append(error.description) }
            try await process(batch.events)
            summary.events += batch.events.count
            progress(summary.events)
        }
        return summary
    }
}
