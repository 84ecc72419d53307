/// One model's scoring arithmetic rearranged, once per model, for the BLAS path.
///
/// The definition is `σ(b + Σ wⱼ·(clamp(xⱼ, loⱼ, hiⱼ) − μⱼ)/σⱼ)`, a missing xⱼ contributing 0. The
/// scale is folded into the weights (`w′ⱼ = wⱼ/σⱼ`), so the per-value pass only clamps in raw space
/// with the raw bounds, centres, and narrows to Float32; then one `sgemv` with `w′` and the bias.
///
/// The mean is deliberately *not* folded into the bias (`b′ = b − Σ w′ⱼ·μⱼ`): the Float32 product
/// would then add raw-scale terms (a count with mean 40 and std 2 gives w′·x ≈ 20·w) that cancel
/// against b′, losing ~1e-4 of the logit to rounding; centred terms stay at the scale of w·z. The
/// subtraction costs one instruction in a pass that must exist anyway for clipping and narrowing
/// (bench/results/model.md).
struct ScoringCoefficients {
    let featureCount: Int
    /// Columns of the prepared Float32 matrix: `featureCount` rounded up to a multiple of 8, so
    /// every row starts 32-byte aligned and OpenBLAS's kernel runs without a ragged tail. The
    /// padding columns stay 0 and their weights are 0.
    let stride: Int
    /// Raw-space clip bounds and centre (the training mean) per feature.
    let lower: [Double]
    let upper: [Double]
    let center: [Double]
    /// `wⱼ/σⱼ`, padded with zeros to `stride`.
    let weights: [Float]
    let bias: Double

    init(_ model: LogisticModel) {
        let features = model.features
        featureCount = features.count
        stride = Self.paddedStride(features.count)
        lower = features.map(\.clipLower)
        upper = features.map(\.clipUpper)
        center = features.map(\.mean)
        weights = features.map { Float($0.weight / $0.std) } + [Float](repeating: 0, count: stride - features.count)
        bias = model.bias
    }

    static func paddedStride(_ columns: Int) -> Int { (columns + 7) / 8 * 8 }
}
