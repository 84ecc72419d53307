import BLAS

/// Scores one batch with several models over the same feature expressions (a champion and its
/// challengers or shadow models) with one `cblas_sgemm`: the batch's prepared matrix is built once
/// and multiplied by all the models' weight vectors together.
///
/// Columns are shared where the models clip a feature identically (models retrained on the same
/// data and spec do): the column is centred on the first model's mean and every other model's bias
/// absorbs the difference of means, `bₖ += Σⱼ w′ₖⱼ·(μ₀ⱼ − μₖⱼ)`. A feature clipped differently by
/// some model gets an extra column for that model. Not thread-safe; buffers are reused.
///
/// The one sgemm per batch means a row's scores can differ in the last bits with the batch it is
/// in (gemm kernels block rows); `BatchScorer`, which the engine uses, does not have that property.
public final class MultiModelScorer {
    /// The models cannot share one feature matrix.
    public struct IncompatibleModels: Error, Equatable, CustomStringConvertible {
        public var description: String
    }

    public let models: [LogisticModel]
    public var featureCount: Int { models[0].features.count }
    /// Columns of the prepared matrix before padding: the shared features plus one per
    /// differently clipped (model, feature).
    public let columnCount: Int

    private let stride: Int
    /// Per prepared column: the raw column it reads, its bounds and centre.
    private let source: [Int], lower: [Double], upper: [Double], center: [Double]
    /// `models × stride`, row-major: model k's scale-folded weights over the prepared columns.
    private let weights: [Float]
    private let biases: [Double]
    private var prepared: [Float] = []
    private var logits: [Float] = []
    private var output: [Double] = []
    private var capacity = 0
    public private(set) var rows = 0

    /// - Throws: `IncompatibleModels` when there is no model or their feature expressions differ.
    public init(models: [LogisticModel]) throws(IncompatibleModels) {
        guard let first = models.first else { throw IncompatibleModels(description: "no model to score with") }
        for (index, model) in models.enumerated().dropFirst() where model.features.map(\.expression) != first.features.map(\.expression) {
            throw IncompatibleModels(description: "model \(index) (\(model.name)) has features \(model.features.map(\.expression)); model 0 (\(first.name)) has \(first.features.map(\.expression)): models scored together must list the same expressions in the same order")
        }
        self.models = models
        var source = Array(first.features.indices)
        var lower = first.features.map(\.clipLower), upper = first.features.map(\.clipUpper), center = first.features.map(\.mean)
        var weightColumns: [[(column: Int, weight: Double)]] = []
        var biases: [Double] = []
        for model in models {
            var bias = model.bias
            var columns: [(column: Int, weight: Double)] = []
            for (j, feature) in model.features.enumerated() {
                let scaled = feature.weight / feature.std
                if feature.clipLower == lower[j], feature.clipUpper == upper[j] {
                    columns.append((j, scaled))
                    bias += scaled * (center[j] - feature.mean)
                } else {
                    source.append(j)
                    lower.append(feature.clipLower)
                    upper.append(feature.clipUpper)
                    center.append(feature.mean)
                    columns.append((source.count - 1, scaled))
                }
            }
            weightColumns.append(columns)
            biases.append(bias)
        }
        columnCount = source.count
        stride = ScoringCoefficients.paddedStride(source.count)
        var weights = [Float](repeating: 0, count: models.count * stride)
        for (k, columns) in weightColumns.enumerated() {
            for (column, weight) in columns { weights[k * stride + column] = Float(weight) }
        }
        self.source = source
        self.lower = lower
        self.upper = upper
        self.center = center
        self.weights = weights
        self.biases = biases
    }

    /// Scores `rows` events whose raw feature values are `raw` (row-major, `rows × featureCount`,
    /// NaN = missing) with every model; read the results with `scores(model:)`.
    public func score(raw: [Double], rows: Int) {
        let p = featureCount, m = models.count
        precondition(raw.count >= rows * p, "raw feature matrix holds \(raw.count) values; \(rows) rows × \(p) features need \(rows * p)")
        ensureCapacity(rows: rows)
        self.rows = rows
        guard rows > 0 else { return }
        raw.withUnsafeBufferPointer { raw in
        lower.withUnsafeBufferPointer { lower in
        upper.withUnsafeBufferPointer { upper in
        center.withUnsafeBufferPointer { center in
        prepared.withUnsafeMutableBufferPointer { prepared in
            guard p > 0 else { return }
            let x = raw.baseAddress!, z = prepared.baseAddress!
            FeatureMatrixKernel.prepare(
                raw: x, rows: rows, columns: p, lower: lower.baseAddress!, upper: upper.baseAddress!,
                center: center.baseAddress!, out: z, stride: stride
            )
            // Differently clipped copies of a feature: gathered, one value at a time.
            for column in p..<columnCount {
                let j = source[column], lo = lower[column], hi = upper[column], mu = center[column]
                for row in 0..<rows {
                    z[row * stride + column] = FeatureMatrixKernel.prepared(x[row * p + j], lower: lo, upper: hi, center: mu)
                }
            }
        }}}}}
        // logits (models × rows) = weights (models × stride) · preparedᵀ (stride × rows): each
        // model's logits come out contiguous, ready for the sigmoid.
        weights.withUnsafeBufferPointer { a in
        prepared.withUnsafeBufferPointer { b in
        logits.withUnsafeMutableBufferPointer { c in
            try! BLAS.sgemm(.none, .transposed, m: m, n: rows, k: stride, a: a, b: b, c: c)
        }}}
        logits.withUnsafeBufferPointer { logits in
        output.withUnsafeMutableBufferPointer { output in
            for k in 0..<m {
                Logistic.sigmoid(logits: logits.baseAddress! + k * rows, bias: Float(biases[k]), count: rows, into: output.baseAddress! + k * rows)
            }
        }}
    }

    /// P(fraud) under model `model` (an index into `models`) for each row of the last batch.
    public func scores(model: Int) -> ArraySlice<Double> {
        output[(model * rows)..<((model + 1) * rows)]
    }

    private func ensureCapacity(rows: Int) {
        guard rows > capacity else { return }
        capacity = max(rows, capacity * 2)
        prepared = [Float](repeating: 0, count: capacity * stride)
        logits = [Float](repeating: 0, count: capacity * models.count)
        output = [Double](repeating: 0, count: capacity * models.count)
    }
}
