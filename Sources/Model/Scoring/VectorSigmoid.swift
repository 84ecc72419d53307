extension Logistic {
    /// `scores[i] = σ(bias + logits[i])` for the first `count` logits, eight at a time in SIMD
    /// registers, numerically stable for any logit.
    ///
    /// σ is computed from e = exp(−|x|) ≤ 1 (never overflows): σ = 1/(1+e) for x ≥ 0 and e/(1+e)
    /// for x < 0, so small probabilities keep their relative precision. exp is Cephes' `expf`
    /// (range reduction by ln 2, degree-6 polynomial, 2ⁿ built in the exponent bits), ~1e-7
    /// relative error, below the Float32 rounding of the logits themselves. Logits below −87
    /// (σ < 1.7e-38) give exactly 0.
    ///
    /// The last `count % 8` logits go through the same eight-lane arithmetic, in a register padded
    /// with zeros: lanes never mix, so a logit gets the same score wherever it sits in the batch.
    /// (Until session 13 they took the scalar double-precision `sigmoid`, and an event's
    /// model_score differed in the 8th digit between a batch of 1,024 and a batch of one.)
    public static func sigmoid(logits: UnsafePointer<Float>, bias: Float, count: Int, into scores: UnsafeMutablePointer<Double>) {
        let input = UnsafeRawPointer(logits), output = UnsafeMutableRawPointer(scores)
        var index = 0
        while index + 8 <= count {
            let x = input.loadUnaligned(fromByteOffset: index * MemoryLayout<Float>.stride, as: SIMD8<Float>.self)
            output.storeBytes(of: sigmoid8(x + bias), toByteOffset: index * MemoryLayout<Double>.stride, as: SIMD8<Double>.self)
            index += 8
        }
        guard index < count else { return }
        var x = SIMD8<Float>(repeating: 0)
        for lane in 0..<(count - index) { x[lane] = logits[index + lane] }
        let sigma = sigmoid8(x + bias)
        for lane in 0..<(count - index) { scores[index + lane] = sigma[lane] }
    }

    @inline(__always)
    static func sigmoid8(_ x: SIMD8<Float>) -> SIMD8<Double> {
        let negativeMagnitude = x.replacing(with: -x, where: x .> 0)
        let e = expOfNonPositive(negativeMagnitude)
        let reciprocal = 1 / (1 + e)
        return SIMD8<Double>(reciprocal.replacing(with: e * reciprocal, where: x .< 0))
    }

    /// e^a for a ≤ 0; 0 below −87, where Float32 exponents run out.
    @inline(__always)
    static func expOfNonPositive(_ a: SIMD8<Float>) -> SIMD8<Float> {
        let clamped = a.replacing(with: -87, where: a .< -87)
        // n = round(a/ln 2) by the 1.5·2²³ trick: adding it pushes the fraction out of the
        // mantissa, whose low bits then hold n (two's complement), with no rounding instruction.
        let shifter: Float = 12_582_912
        let log2e: Float = 1.442_695_040_888_963_4, ln2High: Float = 0.693_359_375, ln2Low: Float = -2.121_944_40e-4
        let shifted: SIMD8<Float> = clamped * log2e + shifter
        let n: SIMD8<Float> = shifted - shifter
        // r = a − n·ln 2 with ln 2 split in two so the first product is exact.
        var r: SIMD8<Float> = clamped - n * ln2High
        r = r - n * ln2Low
        let c0: Float = 1.987_569_150_0e-4, c1: Float = 1.398_199_950_7e-3, c2: Float = 8.333_451_907_3e-3
        let c3: Float = 4.166_579_589_4e-2, c4: Float = 1.666_666_545_9e-1, c5: Float = 5.000_000_120_1e-1
        var polynomial: SIMD8<Float> = r * c0 + c1
        polynomial = polynomial * r + c2
        polynomial = polynomial * r + c3
        polynomial = polynomial * r + c4
        polynomial = polynomial * r + c5
        let expR: SIMD8<Float> = polynomial * (r * r) + r + 1
        let biased: SIMD8<UInt32> = unsafeBitCast(shifted, to: SIMD8<UInt32>.self) &- shifter.bitPattern &+ 127
        let result: SIMD8<Float> = expR * unsafeBitCast(biased &<< 23, to: SIMD8<Float>.self)
        return result.replacing(with: 0, where: a .< -87)
    }
}
