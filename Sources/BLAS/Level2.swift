import COpenBLAS

extension BLAS {
    /// `y ← alpha · op(A) · x + beta · y` in single precision, A row-major with `rows × columns`
    /// elements (leading dimension = columns).
    ///
    /// With `.none`, x has `columns` elements and y `rows`; with `.transposed`, the reverse.
    /// Buffers may be longer than needed (reused scratch space); only the prefix is read or written.
    /// - Throws: `BLASDimensionError` before calling BLAS when a buffer is too short or a dimension
    ///   does not fit OpenBLAS's 32-bit index.
    public static func sgemv(
        _ transpose: Transpose = .none, rows: Int, columns: Int, alpha: Float = 1,
        a: UnsafeBufferPointer<Float>, x: UnsafeBufferPointer<Float>,
        beta: Float = 0, y: UnsafeMutableBufferPointer<Float>
    ) throws(BLASDimensionError) {
        let shape = try GEMVShape(routine: "sgemv", transpose, rows: rows, columns: columns, a: a.count, x: x.count, y: y.count)
        guard !shape.isEmpty else { return scale(y, count: shape.yCount, by: beta) }
        cblas_sgemv(CblasRowMajor, transpose.cblas, shape.m, shape.n, alpha, a.baseAddress, shape.n, x.baseAddress, 1, beta, y.baseAddress, 1)
    }

    /// `y[r] ← A[r, ·] · x` for each of A's `rows` rows (row-major, `rows × columns`), in single
    /// precision: `sgemv` without its transpose, alpha and beta, computed as one `cblas_sdot` per row.
    ///
    /// Why not `sgemv`: OpenBLAS's gemv kernels work on blocks of rows and sum the rows left over
    /// in another order, so a row's result depends on the row count and on where the row sits in
    /// the matrix. A dot product's order depends only on its length, so a row gets the same bits
    /// whichever batch it is in, as one row or among a thousand.
    public static func sdotRows(
        rows: Int, columns: Int, a: UnsafeBufferPointer<Float>, x: UnsafeBufferPointer<Float>, y: UnsafeMutableBufferPointer<Float>
    ) throws(BLASDimensionError) {
        let shape = try GEMVShape(routine: "sdotRows", .none, rows: rows, columns: columns, a: a.count, x: x.count, y: y.count)
        guard !shape.isEmpty else { return scale(y, count: shape.yCount, by: 0) }
        let row = a.baseAddress!, vector = x.baseAddress!
        for r in 0..<rows { y[r] = cblas_sdot(shape.n, row + r &* columns, 1, vector, 1) }
    }

    /// `y ← alpha · op(A) · x + beta · y` in double precision; see `sgemv` for the layout.
    public static func dgemv(
        _ transpose: Transpose = .none, rows: Int, columns: Int, alpha: Double = 1,
        a: UnsafeBufferPointer<Double>, x: UnsafeBufferPointer<Double>,
        beta: Double = 0, y: UnsafeMutableBufferPointer<Double>
    ) throws(BLASDimensionError) {
        let shape = try GEMVShape(routine: "dgemv", transpose, rows: rows, columns: columns, a: a.count, x: x.count, y: y.count)
        guard !shape.isEmpty else { return scale(y, count: shape.yCount, by: beta) }
        cblas_dgemv(CblasRowMajor, transpose.cblas, shape.m, shape.n, alpha, a.baseAddress, shape.n, x.baseAddress, 1, beta, y.baseAddress, 1)
    }
}

/// The validated dimensions of a matrix-vector product.
private struct GEMVShape {
    let m: Int32, n: Int32
    let yCount: Int
    var isEmpty: Bool { m == 0 || n == 0 }

    init(routine: String, _ transpose: Transpose, rows: Int, columns: Int, a: Int, x: Int, y: Int) throws(BLASDimensionError) {
        let check = DimensionCheck(routine: routine)
        m = try check.dimension("rows", rows)
        n = try check.dimension("columns", columns)
        let (xCount, yCount) = transpose == .none ? (columns, rows) : (rows, columns)
        try check.buffer("a", count: a, needs: rows * columns)
        try check.buffer("x", count: x, needs: xCount)
        try check.buffer("y", count: y, needs: yCount)
        self.yCount = yCount
    }
}
