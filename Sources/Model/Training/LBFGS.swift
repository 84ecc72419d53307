/// Limited-memory BFGS for smooth convex objectives (Nocedal & Wright, algorithm 7.4/7.5), with a
/// backtracking Armijo line search. The curvature pair of a step is kept only when sᵀy > 0, which
/// keeps the inverse-Hessian approximation positive definite without a Wolfe line search.
public struct LBFGS: Sendable {
    /// Curvature pairs kept (m).
    public var memory = 10
    public var maxIterations = 500
    /// Stop when ‖∇f‖∞ ≤ gradientTolerance · max(1, ‖x‖∞).
    public var gradientTolerance = 1e-7
    /// Stop when one iteration lowers f by less than this, relative to max(1, |f|).
    public var functionTolerance = 1e-12

    public init() {}

    public enum StopReason: String, Sendable {
        case converged
        /// The observer asked to stop (early stopping on validation loss).
        case stoppedByObserver = "early_stopping"
        case maxIterations = "max_iterations"
        /// No step along the search direction lowered f: x is optimal to machine precision.
        case lineSearchFailed = "line_search_exhausted"
    }

    public struct Result: Sendable {
        public var x: [Double]
        public var value: Double
        public var iterations: Int
        public var stopReason: StopReason
    }

    /// Minimizes f from `start`.
    /// - Parameters:
    ///   - evaluate: writes ∇f(x) into its second argument and returns f(x).
    ///   - observe: called after every accepted iteration with (iteration, x, f); return false to stop.
    public func minimize(
        from start: [Double],
        evaluate: (_ x: [Double], _ gradient: inout [Double]) -> Double,
        observe: (_ iteration: Int, _ x: [Double], _ value: Double) -> Bool = { _, _, _ in true }
    ) -> Result {
        let n = start.count
        var x = start
        var gradient = [Double](repeating: 0, count: n)
        var value = evaluate(x, &gradient)
        var history: [(s: [Double], y: [Double], rho: Double)] = []
        var direction = [Double](repeating: 0, count: n)
        var candidate = [Double](repeating: 0, count: n)
        var candidateGradient = [Double](repeating: 0, count: n)

        for iteration in 1...max(1, maxIterations) {
            if maxNorm(gradient) <= gradientTolerance * max(1, maxNorm(x)) {
                return Result(x: x, value: value, iterations: iteration - 1, stopReason: .converged)
            }
            searchDirection(gradient: gradient, history: history, into: &direction)
            var slope = dot(gradient, direction)
            if slope >= 0 {
                history.removeAll()
                for i in 0..<n { direction[i] = -gradient[i] }
                slope = dot(gradient, direction)
            }
            // First iteration: a unit step along −g can be far too long; scale it to length 1.
            var step = history.isEmpty && iteration == 1 ? 1 / max(1, maxNorm(gradient)) : 1
            var candidateValue = Double.infinity
            var accepted = false
            for _ in 0..<60 {
                for i in 0..<n { candidate[i] = x[i] + step * direction[i] }
                candidateValue = evaluate(candidate, &candidateGradient)
                if candidateValue.isFinite, candidateValue <= value + 1e-4 * step * slope {
                    accepted = true
                    break
                }
                step *= 0.5
            }
            guard accepted else {
                return Result(x: x, value: value, iterations: iteration - 1, stopReason: .lineSearchFailed)
            }
            var s = [Double](repeating: 0, count: n), y = [Double](repeating: 0, count: n)
            for i in 0..<n {
                s[i] = candidate[i] - x[i]
                y[i] = candidateGradient[i] - gradient[i]
            }
            let sy = dot(s, y)
            if sy > 1e-12 * dot(y, y).squareRoot() * dot(s, s).squareRoot() {
                history.append((s, y, 1 / sy))
                if history.count > memory { history.removeFirst() }
            }
            let decrease = value - candidateValue
            swap(&x, &candidate)
            swap(&gradient, &candidateGradient)
            value = candidateValue
            if !observe(iteration, x, value) {
                return Result(x: x, value: value, iterations: iteration, stopReason: .stoppedByObserver)
            }
            if decrease <= functionTolerance * max(1, abs(value)) {
                return Result(x: x, value: value, iterations: iteration, stopReason: .converged)
            }
        }
        return Result(x: x, value: value, iterations: maxIterations, stopReason: .maxIterations)
    }

    /// The two-loop recursion: direction = −H·g with H₀ = (sᵀy / yᵀy)·I from the newest pair.
    private func searchDirection(gradient: [Double], history: [(s: [Double], y: [Double], rho: Double)], into direction: inout [Double]) {
        let n = gradient.count
        for i in 0..<n { direction[i] = -gradient[i] }
        var alphas = [Double](repeating: 0, count: history.count)
        for k in stride(from: history.count - 1, through: 0, by: -1) {
            let alpha = history[k].rho * dot(history[k].s, direction)
            alphas[k] = alpha
            for i in 0..<n { direction[i] -= alpha * history[k].y[i] }
        }
        if let newest = history.last {
            let gamma = dot(newest.s, newest.y) / dot(newest.y, newest.y)
            for i in 0..<n { direction[i] *= gamma }
        }
        for k in 0..<history.count {
            let beta = history[k].rho * dot(history[k].y, direction)
            for i in 0..<n { direction[i] += (alphas[k] - beta) * history[k].s[i] }
        }
    }

    private func dot(_ a: [Double], _ b: [Double]) -> Double {
        var sum = 0.0
        for i in a.indices { sum += a[i] * b[i] }
        return sum
    }

    private func maxNorm(_ a: [Double]) -> Double { a.reduce(0) { max($0, abs($1)) } }
}
