/// Standardization statistics of each column, fitted on the training split.
///
/// Clip bounds are the training split's observed minimum and maximum: serving never feeds the
/// model a value beyond what it was fitted on (a bot's count of 5,000 scores like the training
/// maximum rather than extrapolating the logit without limit), and training loses no signal,
/// which quantile clipping would for rare fraud patterns that live in the top 0.1%.
/// Missing values (NaN) are skipped; they are imputed to the mean, i.e. standardized to 0.
public struct FeatureScaling: Equatable, Sendable {
    public var means: [Double]
    /// Population standard deviation of the clipped values; 1 for a constant or all-missing
    /// column, so its standardized value is 0 and its weight is driven to 0 by the L2 penalty.
    public var stds: [Double]
    public var lower: [Double]
    public var upper: [Double]

    public init(means: [Double], stds: [Double], lower: [Double], upper: [Double]) {
        self.means = means
        self.stds = stds
        self.lower = lower
        self.upper = upper
    }

    /// Fits on the rows of `matrix` listed in `rows`.
    public init(fitting matrix: LabeledMatrix, rows: [Int]) {
        let p = matrix.columns
        var count = [Int](repeating: 0, count: p)
        var mean = [Double](repeating: 0, count: p)
        var m2 = [Double](repeating: 0, count: p)
        var lower = [Double](repeating: .infinity, count: p)
        var upper = [Double](repeating: -.infinity, count: p)
        // Welford's update: one pass, stable for large counts with a large mean.
        for row in rows {
            for column in 0..<p {
                let x = matrix[row, column]
                guard !x.isNaN else { continue }
                count[column] += 1
                let delta = x - mean[column]
                mean[column] += delta / Double(count[column])
                m2[column] += delta * (x - mean[column])
                lower[column] = min(lower[column], x)
                upper[column] = max(upper[column], x)
            }
        }
        var std = [Double](repeating: 1, count: p)
        for column in 0..<p {
            if count[column] == 0 {
                (mean[column], lower[column], upper[column]) = (0, 0, 0)
                continue
            }
            let deviation = (m2[column] / Double(count[column])).squareRoot()
            if deviation > 1e-12 * max(1, abs(mean[column])) { std[column] = deviation }
        }
        self.init(means: mean, stds: std, lower: lower, upper: upper)
    }

    /// z = (clamp(x) − mean) / std, 0 for NaN: the same arithmetic as `ModelFeature.standardize`.
    @inlinable
    public func standardize(_ x: Double, column: Int) -> Double {
        ModelFeature.standardize(x, lower: lower[column], upper: upper[column], mean: means[column], std: stds[column])
    }

    /// The standardized rows of `matrix` listed in `rows`, row-major.
    public func standardized(_ matrix: LabeledMatrix, rows: [Int]) -> [Double] {
        let p = matrix.columns
        var out = [Double](repeating: 0, count: rows.count * p)
        for (i, row) in rows.enumerated() {
            for column in 0..<p { out[i * p + column] = standardize(matrix[row, column], column: column) }
        }
        return out
    }
}
