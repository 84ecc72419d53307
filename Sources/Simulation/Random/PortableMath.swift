/// `log` and `exp` from IEEE-754 +, −, ×, ÷ only, which every platform rounds identically.
///
/// The platform's libm may differ in the last bit between versions and machines; one such bit
/// can move an amount across a rounding boundary, and the simulator promises the same bytes for
/// the same seed everywhere. Accuracy is a few ulps, far more than traffic simulation needs.
enum PortableMath {
    static let ln2 = 0.693_147_180_559_945_309_417_232_121_458

    /// Natural logarithm for x > 0.
    static func log(_ x: Double) -> Double {
        precondition(x > 0 && x.isFinite, "log of \(x)")
        // x = m · 2^e with m in [√½, √2), so the series argument stays small.
        var m = x.significand
        var e = Double(x.exponent)
        if m > 1.414_213_562_373_095_1 {
            m /= 2
            e += 1
        }
        // log(m) = 2·atanh(s) with s = (m − 1)/(m + 1), |s| < 0.172.
        let s = (m - 1) / (m + 1)
        let s2 = s * s
        var term = s
        var sum = 0.0
        var k = 1.0
        while true {
            let next = sum + term / k
            if next == sum { break }
            sum = next
            term *= s2
            k += 2
        }
        return 2 * sum + e * ln2
    }

    /// e^x for |x| < 700.
    static func exp(_ x: Double) -> Double {
        precondition(abs(x) < 700, "exp of \(x)")
        // x = k·ln2 + r with |r| ≤ ln2/2, then e^r by its Taylor series.
        let k = (x / ln2).rounded()
        let r = x - k * ln2
        var term = 1.0
        var sum = 1.0
        var n = 1.0
        while true {
            term *= r / n
            let next = sum + term
            if next == sum { break }
            sum = next
            n += 1
        }
        return sum * Double(sign: .plus, exponent: Int(k), significand: 1)
    }

    static func pow(_ base: Double, _ exponent: Double) -> Double {
        exp(exponent * log(base))
    }
}
