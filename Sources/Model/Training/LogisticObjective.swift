import BLAS

/// The L2-regularized logistic loss over a standardized design matrix, with its gradient:
///
///     f(w, b) = (1/n) · Σᵢ sᵢ · ℓ(yᵢ, zᵢ·w + b) + (λ/2) · ‖w‖²,   ℓ(y, m) = log(1 + e^m) − y·m
///
/// n is the row count and sᵢ the sample (class) weight; the bias is not penalized. This is
/// scikit-learn's objective divided by its C·n: fit there with `C = 1 / (λ · n)`.
/// The two heavy products, Z·w and Zᵀ·r, are `dgemv` calls.
final class LogisticObjective {
    let rows: Int
    let columns: Int
    private let design: [Double]
    private let labels: [Double]
    private let sampleWeights: [Double]
    let l2: Double
    private var margins: [Double]
    private var residuals: [Double]

    /// - Parameters:
    ///   - design: standardized features, row-major `rows × columns`.
    ///   - labels: 1 for fraud, 0 for legit.
    init(design: [Double], labels: [Double], sampleWeights: [Double], columns: Int, l2: Double) {
        precondition(design.count == labels.count * columns && sampleWeights.count == labels.count)
        self.rows = labels.count
        self.columns = columns
        self.design = design
        self.labels = labels
        self.sampleWeights = sampleWeights
        self.l2 = l2
        self.margins = [Double](repeating: 0, count: labels.count)
        self.residuals = [Double](repeating: 0, count: labels.count)
    }

    /// θ = [w₀ … w_{p−1}, b]. Returns f(θ) and writes ∇f(θ) into `gradient`.
    func evaluate(_ theta: [Double], gradient: inout [Double]) -> Double {
        computeMargins(theta)
        let n = Double(max(rows, 1))
        var loss = 0.0, biasGradient = 0.0
        for i in 0..<rows {
            let m = margins[i], y = labels[i], s = sampleWeights[i]
            loss += s * (y > 0.5 ? Logistic.softplus(-m) : Logistic.softplus(m))
            let r = s * (Logistic.sigmoid(m) - y) / n
            residuals[i] = r
            biasGradient += r
        }
        design.withUnsafeBufferPointer { a in
            residuals.withUnsafeBufferPointer { x in
                gradient.withUnsafeMutableBufferPointer { y in
                    try! BLAS.dgemv(.transposed, rows: rows, columns: columns, a: a, x: x, y: y)
                }
            }
        }
        var penalty = 0.0
        for j in 0..<columns {
            penalty += theta[j] * theta[j]
            gradient[j] += l2 * theta[j]
        }
        gradient[columns] = biasGradient
        return loss / n + 0.5 * l2 * penalty
    }

    /// The sample-weighted mean log loss, Σ sᵢ·ℓᵢ / Σ sᵢ, without the penalty: the early-stopping criterion.
    func meanLoss(_ theta: [Double]) -> Double {
        computeMargins(theta)
        var loss = 0.0, weight = 0.0
        for i in 0..<rows {
            let m = margins[i], s = sampleWeights[i]
            loss += s * (labels[i] > 0.5 ? Logistic.softplus(-m) : Logistic.softplus(m))
            weight += s
        }
        return weight > 0 ? loss / weight : 0
    }

    /// P(fraud) of every row under θ.
    func probabilities(_ theta: [Double]) -> [Double] {
        computeMargins(theta)
        return margins.map(Logistic.sigmoid)
    }

    private func computeMargins(_ theta: [Double]) {
        design.withUnsafeBufferPointer { a in
            theta.withUnsafeBufferPointer { x in
                margins.withUnsafeMutableBufferPointer { y in
                    // θ has columns + 1 entries; dgemv reads the first `columns` (the weights).
                    try! BLAS.dgemv(rows: rows, columns: columns, a: a, x: x, y: y)
                }
            }
        }
        let bias = theta[columns]
        for i in 0..<rows { margins[i] += bias }
    }
}
