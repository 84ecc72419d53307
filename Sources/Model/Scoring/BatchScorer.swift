import BLAS
import FraudCore

/// Scores batches with one model: standardize the raw feature matrix into a reused Float32
/// buffer, one `cblas_sgemv` for the logits, then a stable sigmoid.
///
/// Owns its buffers and grows them only when a batch is larger than any before, so steady-state
/// scoring allocates nothing. Not thread-safe: one scorer per engine worker.
public final class BatchScorer {
    public let model: LogisticModel
    public var featureCount: Int { model.features.count }

    private let weights: [Float]
    /// Per-column standardization, unpacked from the model so the inner loop reads flat arrays.
    private let clipLower: [Double], clipUpper: [Double], means: [Double], inverseStds: [Double]
    private var standardized: [Float] = []
    private var logits: [Float] = []
    /// P(fraud) of each row of the last batch; only the first `rows` entries are that batch's.
    public private(set) var scores: [Double] = []
    public private(set) var rows = 0

    public init(model: LogisticModel) {
        self.model = model
        self.weights = model.features.map { Float($0.weight) }
        self.clipLower = model.features.map(\.clipLower)
        self.clipUpper = model.features.map(\.clipUpper)
        self.means = model.features.map(\.mean)
        self.inverseStds = model.features.map { 1 / $0.std }
    }

    /// Scores `rows` events whose raw feature values are `raw` (row-major, `rows × featureCount`,
    /// NaN = missing). Afterwards `scores[0..<rows]` holds each event's probability of fraud.
    public func score(raw: [Double], rows: Int) {
        let p = featureCount
        precondition(raw.count >= rows * p, "raw feature matrix holds \(raw.count) values; \(rows) rows × \(p) features need \(rows * p)")
        ensureCapacity(rows: rows)
        self.rows = rows
        standardize(raw, rows: rows)
        standardized.withUnsafeBufferPointer { a in
            weights.withUnsafeBufferPointer { x in
                logits.withUnsafeMutableBufferPointer { y in
                    // Dimensions are checked above and the buffers sized by ensureCapacity.
                    try! BLAS.sgemv(rows: rows, columns: p, a: a, x: x, y: y)
                }
            }
        }
        let bias = model.bias
        for row in 0..<rows {
            scores[row] = Logistic.sigmoid(bias + Double(logits[row]))
        }
    }

    /// The `count` features that pushed this row's logit furthest towards fraud (largest
    /// weight × standardized value first), named by their expressions. Computed in double
    /// precision from the raw values, so all contributions plus the bias equal the logit exactly.
    public func topContributions(raw: [Double], row: Int, count: Int = 3) -> [ModelContribution] {
        let p = featureCount
        var top: [ModelContribution] = []
        top.reserveCapacity(count + 1)
        for (column, feature) in model.features.enumerated() {
            let value = raw[row * p + column]
            let contribution = feature.weight * feature.standardize(value)
            guard top.count < count || contribution > top[top.count - 1].contribution else { continue }
            let position = top.firstIndex { contribution > $0.contribution } ?? top.count
            top.insert(ModelContribution(feature: feature.expression, value: value, contribution: contribution), at: position)
            if top.count > count { top.removeLast() }
        }
        return top
    }

    /// Every feature's contribution to one row's logit, in feature order.
    public func contributions(raw: [Double], row: Int) -> [Double] {
        let p = featureCount
        return model.features.enumerated().map { column, feature in
            feature.weight * feature.standardize(raw[row * p + column])
        }
    }

    /// Same arithmetic as `ModelFeature.standardize`, in flat arrays; a NaN (missing) becomes 0.
    private func standardize(_ raw: [Double], rows: Int) {
        let p = featureCount
        clipLower.withUnsafeBufferPointer { lower in
        clipUpper.withUnsafeBufferPointer { upper in
        means.withUnsafeBufferPointer { mean in
        inverseStds.withUnsafeBufferPointer { inverseStd in
        raw.withUnsafeBufferPointer { raw in
        standardized.withUnsafeMutableBufferPointer { out in
            for row in 0..<rows {
                let base = row * p
                for column in 0..<p {
                    let x = raw[base + column]
                    let z = (min(max(x, lower[column]), upper[column]) - mean[column]) * inverseStd[column]
                    out[base + column] = x.isNaN ? 0 : Float(z)
                }
            }
        }}}}}}
    }

    private func ensureCapacity(rows: Int) {
        guard rows > logits.count else { return }
        let capacity = max(rows, logits.count * 2)
        standardized = [Float](repeating: 0, count: capacity * featureCount)
        logits = [Float](repeating: 0, count: capacity)
        scores = [Double](repeating: 0, count: capacity)
    }
}
