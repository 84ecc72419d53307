/// The one elementwise pass of the scoring path: raw Float64 feature rows (NaN = missing) to the
/// prepared Float32 matrix the product reads, `clamp(x, lo, hi) − centre`, missing → 0.
///
/// Four columns at a time in SIMD registers loaded straight from memory (unaligned loads; the
/// compiler keeps them in vector registers), a scalar tail for the last `featureCount % 4`.
/// Clamping before centring reproduces the reference `ModelFeature.standardize` exactly up to
/// the final scale, which the weights carry.
enum FeatureMatrixKernel {
    /// - Parameters:
    ///   - raw: `rows × columns` row-major.
    ///   - out: `rows × stride` row-major; columns `columns..<stride` are not written.
    static func prepare(
        raw: UnsafePointer<Double>, rows: Int, columns: Int,
        lower: UnsafePointer<Double>, upper: UnsafePointer<Double>, center: UnsafePointer<Double>,
        out: UnsafeMutablePointer<Float>, stride: Int
    ) {
        let lo = UnsafeRawPointer(lower), hi = UnsafeRawPointer(upper), mu = UnsafeRawPointer(center)
        let vectorColumns = columns / 4 * 4
        for row in 0..<rows {
            let x = UnsafeRawPointer(raw + row * columns)
            let z = UnsafeMutableRawPointer(out + row * stride)
            var column = 0
            while column < vectorColumns {
                let offset = column * MemoryLayout<Double>.stride
                let value = x.loadUnaligned(fromByteOffset: offset, as: SIMD4<Double>.self)
                let low = lo.loadUnaligned(fromByteOffset: offset, as: SIMD4<Double>.self)
                let high = hi.loadUnaligned(fromByteOffset: offset, as: SIMD4<Double>.self)
                // A NaN compares false both times, passes through, and is zeroed after centring.
                var clamped = value.replacing(with: low, where: value .< low)
                clamped = clamped.replacing(with: high, where: clamped .> high)
                let centred = (clamped - mu.loadUnaligned(fromByteOffset: offset, as: SIMD4<Double>.self))
                    .replacing(with: 0, where: value .!= value)
                z.storeBytes(of: SIMD4<Float>(centred), toByteOffset: column * MemoryLayout<Float>.stride, as: SIMD4<Float>.self)
                column += 4
            }
            let xRow = raw + row * columns, zRow = out + row * stride
            while column < columns {
                zRow[column] = prepared(xRow[column], lower: lower[column], upper: upper[column], center: center[column])
                column += 1
            }
        }
    }

    /// One value of the pass, for the tail and for gathered columns.
    @inline(__always)
    static func prepared(_ value: Double, lower: Double, upper: Double, center: Double) -> Float {
        value.isNaN ? 0 : Float(Swift.min(Swift.max(value, lower), upper) - center)
    }
}
