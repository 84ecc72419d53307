#if canImport(Glibc)
import Glibc
#endif

/// The logistic function and its companions, written to stay finite for any logit.
public enum Logistic {
    /// σ(x) = 1 / (1 + e^−x) without overflow: for x < 0 it is computed as e^x / (1 + e^x), so
    /// e^−x is never evaluated for large |x|.
    @inlinable
    public static func sigmoid(_ x: Double) -> Double {
        if x >= 0 { return 1 / (1 + exp(-x)) }
        let e = exp(x)
        return e / (1 + e)
    }

    /// log(1 + e^x) without overflow or loss of precision: the per-row logistic loss for a legit
    /// row is softplus(z), for a fraud row softplus(−z).
    @inlinable
    public static func softplus(_ x: Double) -> Double {
        x > 0 ? x + log1p(exp(-x)) : log1p(exp(x))
    }
}
