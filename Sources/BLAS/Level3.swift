import COpenBLAS

extension BLAS {
    /// `C ← alpha · op(A) · op(B) + beta · C` in single precision, all row-major.
    ///
    /// op(A) is `m × k`, op(B) is `k × n`, C is `m × n`. A is stored as `m × k` (or `k × m` when
    /// transposed) with its natural leading dimension, and likewise B; C's leading dimension is n.
    /// The engine scores several models at once this way: A = the batch's feature rows, B = the
    /// models' weight columns.
    public static func sgemm(
        _ transposeA: Transpose = .none, _ transposeB: Transpose = .none,
        m: Int, n: Int, k: Int, alpha: Float = 1,
        a: UnsafeBufferPointer<Float>, b: UnsafeBufferPointer<Float>,
        beta: Float = 0, c: UnsafeMutableBufferPointer<Float>
    ) throws(BLASDimensionError) {
        let check = DimensionCheck(routine: "sgemm")
        let m32 = try check.dimension("rows", m), n32 = try check.dimension("columns", n), k32 = try check.dimension("inner", k)
        try check.buffer("a", count: a.count, needs: m * k)
        try check.buffer("b", count: b.count, needs: k * n)
        try check.buffer("c", count: c.count, needs: m * n)
        guard m > 0, n > 0 else { return }
        guard k > 0 else {
            return scale(c, count: m * n, by: beta)
        }
        let lda = transposeA == .none ? k32 : m32
        let ldb = transposeB == .none ? n32 : k32
        cblas_sgemm(CblasRowMajor, transposeA.cblas, transposeB.cblas, m32, n32, k32, alpha, a.baseAddress, lda, b.baseAddress, ldb, beta, c.baseAddress, n32)
    }
}
