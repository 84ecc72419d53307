import FraudCore
import Synchronization

/// Lends each engine worker a `BatchScorer` for the model it is scoring with, so batches reuse
/// the scorers' buffers instead of building a scorer (and its matrices) per batch.
///
/// A worker takes an idle scorer for the batch's model (or builds one), scores synchronously, and
/// gives it back; at most `capacity` idle scorers are kept. After a model reload the idle scorers
/// of the old model are dropped the first time the new one is asked for.
public final class ScorerPool: Sendable {
    /// What one batch gave the model, for callers that record the exact inputs served (feature
    /// logging, train/serve audits).
    public struct ScoredBatch {
        public let events: [PaymentEvent]
        /// `events.count × model.features.count`, row-major, NaN = missing.
        public let raw: UnsafeBufferPointer<Double>
        public let scores: UnsafeBufferPointer<Double>
        public let model: LogisticModel
    }

    /// The scores of one batch and the reasons of the rows that asked for them.
    public struct Result: Sendable {
        public var scores: [Double]
        /// Top contributions per row, in batch order (empty when `reasons` was 0).
        public var contributions: [[ModelContribution]]
    }

    /// A scorer is used by one worker at a time: it leaves the pool for the duration of a batch.
    private struct Idle: @unchecked Sendable {
        let scorer: BatchScorer
    }

    public let capacity: Int
    private let idle = Mutex<[Idle]>([])
    private let onScored: (@Sendable (ScoredBatch) -> Void)?

    /// - Parameters:
    ///   - capacity: idle scorers kept (one per concurrent worker is enough).
    ///   - onScored: called synchronously after each batch, with views valid only during the call.
    public init(capacity: Int = 8, onScored: (@Sendable (ScoredBatch) -> Void)? = nil) {
        precondition(capacity >= 1, "a scorer pool keeps at least one scorer, got \(capacity)")
        self.capacity = capacity
        self.onScored = onScored
    }

    /// The scores of one batch and the reasons of every row, in two flat arrays.
    public struct FlatResult: Sendable {
        public var scores: [Double]
        /// Row after row, `perRow` contributions each (largest first).
        public var contributions: [ModelContribution]
        /// `min(reasons, the model's feature count)`: every row gets exactly this many.
        public var perRow: Int

        /// The contributions of one row.
        public func contributions(ofRow row: Int) -> ArraySlice<ModelContribution> {
            contributions[row * perRow ..< (row + 1) * perRow]
        }
    }

    /// Scores `events` with `model` from the feature store's rows for them, and computes the top
    /// `reasons` contributions of every row.
    public func score(_ model: CompiledModel, events: [PaymentEvent], features: [Double], featureCount: Int, reasons: Int = 3) -> Result {
        let flat = scoreFlat(model, events: events, features: features, featureCount: featureCount, reasons: reasons)
        let contributions = reasons > 0 ? events.indices.map { Array(flat.contributions(ofRow: $0)) } : []
        return Result(scores: flat.scores, contributions: contributions)
    }

    /// `score`, with the contributions of all rows in one array instead of an array per row:
    /// the engine's path, two allocations per batch whatever its size.
    public func scoreFlat(_ model: CompiledModel, events: [PaymentEvent], features: [Double], featureCount: Int, reasons: Int = 3) -> FlatResult {
        let scorer = take(model.model)
        defer { giveBack(scorer) }
        scorer.score(events: events, features: features, featureCount: featureCount, extractor: model.extractor)
        let rows = events.count
        let scores = Array(scorer.scores.prefix(rows))
        let perRow = max(0, min(reasons, scorer.featureCount))
        var contributions: [ModelContribution] = []
        if perRow > 0 {
            contributions.reserveCapacity(rows * perRow)
            scorer.appendTopContributions(raw: scorer.raw, rows: rows, count: perRow, to: &contributions)
        }
        if let onScored {
            scorer.raw.withUnsafeBufferPointer { raw in
                scores.withUnsafeBufferPointer { scores in
                    onScored(ScoredBatch(events: events, raw: UnsafeBufferPointer(rebasing: raw.prefix(rows * scorer.featureCount)), scores: scores, model: model.model))
                }
            }
        }
        return FlatResult(scores: scores, contributions: contributions, perRow: perRow)
    }

    /// Idle scorers for any model (for tests and health).
    public var idleCount: Int { idle.withLock { $0.count } }

    private func take(_ model: LogisticModel) -> BatchScorer {
        let found = idle.withLock { idle -> Idle? in
            if let index = idle.lastIndex(where: { $0.scorer.model == model }) { return idle.remove(at: index) }
            idle.removeAll { $0.scorer.model != model }
            return nil
        }
        return found?.scorer ?? BatchScorer(model: model)
    }

    private func giveBack(_ scorer: BatchScorer) {
        let returned = Idle(scorer: scorer)
        idle.withLock { idle in
            if idle.count < capacity { idle.append(returned) }
        }
    }
}
