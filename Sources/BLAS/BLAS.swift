import COpenBLAS
import Glibc

/// The process's BLAS library (OpenBLAS): its build configuration and thread pool.
///
/// Every call into OpenBLAS goes through this module; nothing else imports `COpenBLAS`.
/// Matrices are row-major everywhere in the project, so the wrappers fix `CblasRowMajor`.
///
/// Threads: the Debian build is the pthread one and starts one worker per core. The engine's hot
/// path calls BLAS on small batches (a few hundred rows × tens of features) where waking a second
/// thread costs more than it saves, so `waqiti serve` and `waqiti replay` call
/// `useCallingThreadOnly()` at start-up (unless OPENBLAS_NUM_THREADS is set); training,
/// with its million-row products, may raise it again.
public enum BLAS {
    /// OpenBLAS's own description of its build: version, kernel (core type) and thread count,
    /// e.g. `OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64`.
    public static var configuration: String {
        guard let text = openblas_get_config() else { return "unknown" }
        return String(cString: text)
    }

    /// Threads OpenBLAS uses for one call.
    public static var threadCount: Int { Int(openblas_get_num_threads()) }

    /// Sets the threads OpenBLAS uses for one call. Process-wide: OpenBLAS has one pool.
    public static func setThreadCount(_ count: Int) {
        precondition(count >= 1, "BLAS thread count must be at least 1, got \(count)")
        openblas_set_num_threads(Int32(clamping: count))
    }

    /// One thread per call, and no idle pool: for commands whose products are small and whose own
    /// workers already use the cores (`serve`, `replay`). Does nothing when OPENBLAS_NUM_THREADS
    /// is set: the operator's choice wins.
    ///
    /// OpenBLAS starts its pool (one thread per extra core) when the library loads, before `main`,
    /// and lowering the thread count leaves that pool alive. Each of its threads spins in
    /// `sched_yield` for ~0.1 s of CPU before it sleeps: 40% of the CPU of a 20,000-event
    /// `waqiti replay` under `/usr/bin/time` (docs/model.md, "BLAS threads"). Stopping the pool costs nothing later: a call that asks for more threads
    /// (after `setThreadCount`) starts it again.
    ///
    /// Call it at start-up, before any BLAS call: stopping the pool while another thread's
    /// product runs on it is not safe (OpenBLAS does this itself only after a fork).
    public static func useCallingThreadOnly() {
        guard getenv("OPENBLAS_NUM_THREADS") == nil else { return }
        openblas_set_num_threads(1)
        _ = blas_thread_shutdown_()
    }

    /// An empty product contributes nothing, so the result is `beta · y`; done here because some
    /// builds reject the zero leading dimension such a call would pass.
    static func scale<T: BinaryFloatingPoint>(_ y: UnsafeMutableBufferPointer<T>, count: Int, by beta: T) {
        for i in 0..<count { y[i] = beta == 0 ? 0 : beta * y[i] }
    }
}

/// Whether a matrix operand is used as stored or transposed (`op(A)` in the BLAS documentation).
public enum Transpose: Sendable {
    case none
    case transposed

    var cblas: CBLAS_TRANSPOSE { self == .none ? CblasNoTrans : CblasTrans }
}

/// A BLAS call whose buffers do not match the dimensions it was given; nothing was computed.
public struct BLASDimensionError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The routine, e.g. `sgemv`.
    public var routine: String
    /// The buffer that is too small, or the dimension that is invalid, e.g. `x`, `rows`.
    public var argument: String
    /// The minimum element count (or, for a dimension, the largest allowed value).
    public var expected: Int
    public var actual: Int

    public init(routine: String, argument: String, expected: Int, actual: Int) {
        self.routine = routine
        self.argument = argument
        self.expected = expected
        self.actual = actual
    }

    public var description: String {
        if argument == "rows" || argument == "columns" || argument == "inner" {
            return "\(routine): dimension \(argument) = \(actual) is outside 0...\(expected)"
        }
        return "\(routine): buffer \(argument) holds \(actual) elements, needs at least \(expected)"
    }
}

/// Checks shared by every wrapper: dimensions fit in the library's 32-bit `blasint`, buffers are large enough.
struct DimensionCheck {
    let routine: String

    func dimension(_ name: String, _ value: Int) throws(BLASDimensionError) -> Int32 {
        guard value >= 0, value <= Int(Int32.max) else {
            throw BLASDimensionError(routine: routine, argument: name, expected: Int(Int32.max), actual: value)
        }
        return Int32(value)
    }

    func buffer(_ name: String, count: Int, needs: Int) throws(BLASDimensionError) {
        guard count >= needs else {
            throw BLASDimensionError(routine: routine, argument: name, expected: needs, actual: count)
        }
    }
}
