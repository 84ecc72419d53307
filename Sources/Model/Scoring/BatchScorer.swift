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
        logits.withUnsafeBufferPointer { logits in
            scores.withUnsafeMutableBufferPointer { scores in
                for row in 0..<rows { scores[row] = Logistic.sigmoid(bias + Double(logits[row])) }
            }
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

    /// Same arithmetic as `ModelFeature.standardize`, over flat arrays, four columns at a time
    /// in SIMD registers (this elementwise pass, not the product, bounds the scorer's speed; see
    /// bench/results/model.md); a NaN (missing) becomes 0.
    private func standardize(_ raw: [Double], rows: Int) {
        let p = featureCount
        clipLower.withUnsafeBufferPointer { lower in
        clipUpper.withUnsafeBufferPointer { upper in
        means.withUnsafeBufferPointer { mean in
        inverseStds.withUnsafeBufferPointer { inverseStd in
        raw.withUnsafeBufferPointer { raw in
        standardized.withUnsafeMutableBufferPointer { out in
            guard let lo = lower.baseAddress, let hi = upper.baseAddress, let mu = mean.baseAddress,
                  let scale = inverseStd.baseAddress, let x = raw.baseAddress, let z = out.baseAddress else { return }
            func load(_ pointer: UnsafePointer<Double>, _ at: Int) -> SIMD4<Double> {
                SIMD4(pointer[at], pointer[at + 1], pointer[at + 2], pointer[at + 3])
            }
            for row in 0..<rows {
                let xRow = x + row * p, zRow = z + row * p
                var column = 0
                while column + 4 <= p {
                    let value = load(xRow, column)
                    var clamped = value.replacing(with: load(lo, column), where: value .< load(lo, column))
                    clamped = clamped.replacing(with: load(hi, column), where: clamped .> load(hi, column))
                    let standardized = ((clamped - load(mu, column)) * load(scale, column)).replacing(with: 0, where: value .!= value)
                    let narrowed = SIMD4<Float>(standardized)
                    for lane in 0..<4 { zRow[column + lane] = narrowed[lane] }
                    column += 4
                }
                while column < p {
                    let value = xRow[column]
                    let clamped = Swift.min(Swift.max(value, lo[column]), hi[column])
                    zRow[column] = value.isNaN ? 0 : Float((clamped - mu[column]) * scale[column])
                    column += 1
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
