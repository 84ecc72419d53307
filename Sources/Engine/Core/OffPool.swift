import Foundation
import ThreadName

/// Runs a blocking call (a librdkafka or hiredis round trip) on a thread of its own and resumes
/// the caller with its result, so the call never holds one of the few threads of Swift's
/// cooperative pool, which run the pipeline and the HTTP handlers. For occasional calls (health
/// checks, lag rounds): each call starts a thread.
enum OffPool {
    /// - Parameter name: the thread's name in `top -H` and `perf` (the kernel keeps 15 bytes).
    static func run<T: Sendable>(_ name: String, _ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            // Named by the thread itself, through the kernel (ThreadName says why).
            let thread = Thread {
                ThreadName.setCurrent(name)
                continuation.resume(returning: body())
            }
            thread.start()
        }
    }
}
