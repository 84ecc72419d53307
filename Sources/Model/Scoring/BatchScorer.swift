import BLAS
import Features
import FraudCore
import Rules

/// Scores batches with one model: one elementwise pass (clip in raw space, centre, narrow to
/// Float32) into a reused row-major matrix, one `cblas_sdot` per row with the scale-folded weights
/// (`BLAS.sdotRows`: the same bits for an event whatever batch it is in), one vectorized stable
/// sigmoid over the logits (see `ScoringCoefficients` for the arithmetic).
///
/// Owns every buffer (the raw feature matrix too, when it extracts the features itself) and grows
/// them only when a batch is larger than any before, so steady-state scoring allocates nothing.
/// Not thread-safe: one scorer per engine worker (`ScorerPool`).
public final class BatchScorer {
    public let model: LogisticModel
    public var featureCount: Int { coefficients.featureCount }

    private let coefficients: ScoringCoefficients
    private var prepared: [Float] = []
    private var logits: [Float] = []
    /// The raw feature matrix of the last `score(events:…)` batch, row-major, NaN = missing.
    public private(set) var raw: [Double] = []
    /// P(fraud) of each row of the last batch; only the first `rows` entries are that batch's.
    public private(set) var scores: [Double] = []
    public private(set) var rows = 0

    public init(model: LogisticModel) {
        self.model = model
        self.coefficients = ScoringCoefficients(model)
    }

    /// Extracts the model's raw features for `events` into the scorer's own buffer (`raw`) and
    /// scores them: the engine's path.
    /// - Parameter features: the feature store's rows for `events`, `featureCount` columns each.
    public func score(events: [PaymentEvent], features: [Double], featureCount: Int, extractor: ModelFeatureExtractor) {
        precondition(extractor.expressions.count == self.featureCount, "extractor has \(extractor.expressions.count) expressions; the model has \(self.featureCount) features")
        extractor.extract(events: events, features: features, featureCount: featureCount, into: &raw)
        score(raw: raw, rows: events.count)
    }

    /// Scores `rows` events whose raw feature values are `raw` (row-major, `rows × featureCount`,
    /// NaN = missing). Afterwards `scores[0..<rows]` holds each event's probability of fraud.
    public func score(raw: [Double], rows: Int) {
        let p = featureCount, stride = coefficients.stride
        precondition(raw.count >= rows * p, "raw feature matrix holds \(raw.count) values; \(rows) rows × \(p) features need \(rows * p)")
        ensureCapacity(rows: rows)
        self.rows = rows
        guard rows > 0 else { return }
        let c = coefficients
        raw.withUnsafeBufferPointer { raw in
        c.lower.withUnsafeBufferPointer { lower in
        c.upper.withUnsafeBufferPointer { upper in
        c.center.withUnsafeBufferPointer { center in
        prepared.withUnsafeMutableBufferPointer { prepared in
            guard p > 0 else { return }
            FeatureMatrixKernel.prepare(
                raw: raw.baseAddress!, rows: rows, columns: p,
                lower: lower.baseAddress!, upper: upper.baseAddress!, center: center.baseAddress!,
                out: prepared.baseAddress!, stride: stride
            )
        }}}}}
        prepared.withUnsafeBufferPointer { a in
        c.weights.withUnsafeBufferPointer { x in
        logits.withUnsafeMutableBufferPointer { y in
            // Dimensions were checked above and the buffers sized by ensureCapacity. One dot
            // product per row, not one sgemv: a score must not depend on the batch it came in
            // (`BLAS.sdotRows`).
            try! BLAS.sdotRows(rows: rows, columns: stride, a: a, x: x, y: y)
        }}}
        logits.withUnsafeBufferPointer { logits in
        scores.withUnsafeMutableBufferPointer { scores in
            Logistic.sigmoid(logits: logits.baseAddress!, bias: Float(c.bias), count: rows, into: scores.baseAddress!)
        }}
    }

    /// The top `count` contributions of one row of the last `score(events:…)` batch.
    public func topContributions(row: Int, count: Int = 3) -> [ModelContribution] {
        topContributions(raw: raw, row: row, count: count)
    }

    /// The `count` features that pushed this row's logit furthest towards fraud (largest
    /// weight × standardized value first), named by their expressions; exact, in double precision.
    public func topContributions(raw: [Double], row: Int, count: Int = 3) -> [ModelContribution] {
        raw.withUnsafeBufferPointer { model.topContributions(raw: $0, offset: row * featureCount, count: count) }
    }

    /// Appends `topContributions(raw:row:count:)` of rows `0..<rows` of `raw` to `out`, row after
    /// row, `min(count, featureCount)` per row.
    public func appendTopContributions(raw: [Double], rows: Int, count: Int, to out: inout [ModelContribution]) {
        precondition(raw.count >= rows * featureCount, "raw feature matrix holds \(raw.count) values; \(rows) rows × \(featureCount) features need \(rows * featureCount)")
        raw.withUnsafeBufferPointer { raw in
            for row in 0..<rows { model.appendTopContributions(raw: raw, offset: row * featureCount, count: count, to: &out) }
        }
    }

    /// Every feature's contribution to one row's logit, in feature order.
    public func contributions(raw: [Double], row: Int) -> [Double] {
        raw.withUnsafeBufferPointer { model.contributions(raw: $0, offset: row * featureCount) }
    }

    private func ensureCapacity(rows: Int) {
        guard rows > logits.count else { return }
        let capacity = max(rows, logits.count * 2)
        // Zero-filled: the padding columns are never written and must stay 0 (their weight is 0,
        // but 0 × NaN garbage would not be).
        prepared = [Float](repeating: 0, count: capacity * coefficients.stride)
        logits = [Float](repeating: 0, count: capacity)
        scores = [Double](repeating: 0, count: capacity)
    }
}
