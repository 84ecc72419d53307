import COpenBLAS

extension BLAS {
    /// The dot product of the first `count` elements of x and y, in double precision.
    public static func ddot(count: Int, _ x: UnsafeBufferPointer<Double>, _ y: UnsafeBufferPointer<Double>) throws(BLASDimensionError) -> Double {
        let check = DimensionCheck(routine: "ddot")
        let n = try check.dimension("count", count)
        try check.buffer("x", count: x.count, needs: count)
        try check.buffer("y", count: y.count, needs: count)
        guard count > 0 else { return 0 }
        return cblas_ddot(n, x.baseAddress, 1, y.baseAddress, 1)
    }

    /// `y ← alpha · x + y` over the first `count` elements, in double precision.
    public static func daxpy(count: Int, alpha: Double, _ x: UnsafeBufferPointer<Double>, _ y: UnsafeMutableBufferPointer<Double>) throws(BLASDimensionError) {
        let check = DimensionCheck(routine: "daxpy")
        let n = try check.dimension("count", count)
        try check.buffer("x", count: x.count, needs: count)
        try check.buffer("y", count: y.count, needs: count)
        guard count > 0 else { return }
        cblas_daxpy(n, alpha, x.baseAddress, 1, y.baseAddress, 1)
    }
}
