import BLAS
import Testing

/// Float32 products checked against a double-precision loop. Tolerance: a dot product of n terms
/// accumulated in Float32 is within n·ε·Σ|aᵢxᵢ| of the exact value (ε = 2⁻²⁴ ≈ 6e-8, the unit
/// roundoff, plus the rounding of the inputs' products); the tests allow 2·n·ε·Σ|aᵢxᵢ|.
@Suite struct BLASTests {
    static let epsilon = Double(Float.ulpOfOne) / 2

    @Test(arguments: [(37, 23), (1, 30), (256, 30), (5, 1)])
    func sgemvMatchesPlainLoop(rows: Int, columns: Int) throws {
        var random = TestRandom(seed: UInt64(rows * 1000 + columns))
        let a = random.floats(rows * columns), x = random.floats(columns)
        var y = [Float](repeating: 99, count: rows)
        try a.withUnsafeBufferPointer { a in
            try x.withUnsafeBufferPointer { x in
                try y.withUnsafeMutableBufferPointer { y in try BLAS.sgemv(rows: rows, columns: columns, a: a, x: x, y: y) }
            }
        }
        Self.expectRowProducts(y, a: a, x: x, columns: columns)
    }

    /// Each `y[i]` is row i of A times x within the Float32 bound above.
    static func expectRowProducts(_ y: [Float], a: [Float], x: [Float], columns: Int) {
        for i in y.indices {
            var exact = 0.0, magnitude = 0.0
            for j in 0..<columns {
                exact += Double(a[i * columns + j]) * Double(x[j])
                magnitude += abs(Double(a[i * columns + j]) * Double(x[j]))
            }
            #expect(abs(Double(y[i]) - exact) <= 2 * Double(columns) * epsilon * magnitude, "row \(i): \(y[i]) vs \(exact)")
        }
    }

    @Test(arguments: [(37, 23), (1, 30), (256, 32), (5, 1)])
    func sdotRowsMatchesPlainLoopAndEachRowAlone(rows: Int, columns: Int) throws {
        var random = TestRandom(seed: UInt64(rows * 1000 + columns + 7))
        let a = random.floats(rows * columns), x = random.floats(columns)
        func products(_ a: ArraySlice<Float>, rows: Int) throws -> [Float] {
            var y = [Float](repeating: 99, count: rows)
            try Array(a).withUnsafeBufferPointer { a in
                try x.withUnsafeBufferPointer { x in
                    try y.withUnsafeMutableBufferPointer { y in try BLAS.sdotRows(rows: rows, columns: columns, a: a, x: x, y: y) }
                }
            }
            return y
        }
        let y = try products(a[...], rows: rows)
        Self.expectRowProducts(y, a: a, x: x, columns: columns)
        for i in 0..<rows {
            // The same bits when the row is the whole matrix: what sgemv does not promise.
            let alone = try products(a[(i * columns)..<((i + 1) * columns)], rows: 1)
            #expect(alone[0].bitPattern == y[i].bitPattern, "row \(i)")
        }
    }

    @Test func sgemvTransposedWithAlphaAndBeta() throws {
        var random = TestRandom(seed: 7)
        let rows = 19, columns = 11
        let a = random.floats(rows * columns), x = random.floats(rows)
        let start = random.floats(columns)
        var y = start
        try a.withUnsafeBufferPointer { a in
            try x.withUnsafeBufferPointer { x in
                try y.withUnsafeMutableBufferPointer { y in
                    try BLAS.sgemv(.transposed, rows: rows, columns: columns, alpha: 2, a: a, x: x, beta: 0.5, y: y)
                }
            }
        }
        for j in 0..<columns {
            var exact = 0.5 * Double(start[j]), magnitude = abs(exact)
            for i in 0..<rows {
                exact += 2 * Double(a[i * columns + j]) * Double(x[i])
                magnitude += abs(2 * Double(a[i * columns + j]) * Double(x[i]))
            }
            #expect(abs(Double(y[j]) - exact) <= 2 * Double(rows + 1) * Self.epsilon * magnitude)
        }
    }

    @Test func sgemmMatchesPlainLoop() throws {
        var random = TestRandom(seed: 11)
        let m = 17, k = 30, n = 3
        let a = random.floats(m * k), b = random.floats(k * n)
        var c = [Float](repeating: 0, count: m * n)
        try a.withUnsafeBufferPointer { a in
            try b.withUnsafeBufferPointer { b in
                try c.withUnsafeMutableBufferPointer { c in try BLAS.sgemm(m: m, n: n, k: k, a: a, b: b, c: c) }
            }
        }
        for i in 0..<m {
            for j in 0..<n {
                var exact = 0.0, magnitude = 0.0
                for l in 0..<k {
                    exact += Double(a[i * k + l]) * Double(b[l * n + j])
                    magnitude += abs(Double(a[i * k + l]) * Double(b[l * n + j]))
                }
                #expect(abs(Double(c[i * n + j]) - exact) <= 2 * Double(k) * Self.epsilon * magnitude)
            }
        }
    }

    /// Small integers are exact in any precision, so these results are exact.
    @Test func doublePrecisionRoutinesAreExactOnIntegers() throws {
        let a: [Double] = [1, 2, 3, 4, 5, 6] // 2 × 3
        var y = [Double](repeating: 0, count: 2)
        try a.withUnsafeBufferPointer { a in
            try [1.0, 0, -1].withUnsafeBufferPointer { x in
                try y.withUnsafeMutableBufferPointer { y in try BLAS.dgemv(rows: 2, columns: 3, a: a, x: x, y: y) }
            }
        }
        #expect(y == [-2, -2])
        let dot = try [1.0, 2, 3].withUnsafeBufferPointer { x in
            try [4.0, 5, 6].withUnsafeBufferPointer { y in try BLAS.ddot(count: 3, x, y) }
        }
        #expect(dot == 32)
        var target: [Double] = [1, 1, 1]
        try [1.0, 2, 3].withUnsafeBufferPointer { x in
            try target.withUnsafeMutableBufferPointer { y in try BLAS.daxpy(count: 3, alpha: 2, x, y) }
        }
        #expect(target == [3, 5, 7])
    }

    @Test func shortBuffersAreRejectedBeforeBLASRuns() {
        let a = [Float](repeating: 1, count: 6)
        var y = [Float](repeating: 0, count: 2)
        let error = #expect(throws: BLASDimensionError.self) {
            try a.withUnsafeBufferPointer { a in
                try [Float](repeating: 1, count: 2).withUnsafeBufferPointer { x in
                    try y.withUnsafeMutableBufferPointer { y in try BLAS.sgemv(rows: 2, columns: 3, a: a, x: x, y: y) }
                }
            }
        }
        #expect(error?.description == "sgemv: buffer x holds 2 elements, needs at least 3")
        #expect(y == [0, 0])
    }

    @Test func threadCountIsSettable() {
        let before = BLAS.threadCount
        BLAS.setThreadCount(1)
        #expect(BLAS.threadCount == 1)
        BLAS.setThreadCount(before)
        #expect(BLAS.configuration.hasPrefix("OpenBLAS"))
    }
}
