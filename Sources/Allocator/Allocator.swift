import CJemalloc

/// The process's memory allocator: jemalloc (Debian's libjemalloc2), linked into every binary that
/// depends on this module, in place of glibc's malloc.
///
/// Why: the engine allocates on one thread and frees on another all the time (an event decoded on
/// the consumer's thread, decided on the pool, its decision encoded and freed after the broker's
/// acknowledgement), which glibc's per-thread arenas serve with locks and cross-arena frees.
/// Measured against the same code on glibc with `waqiti-bench engine --events 100000 --runs 3
/// --seconds 10 --warmup 2 --no-http --stores memory --waqiti BINARY` and `waqiti-bench engine
/// --only http --waqiti BINARY` (bench/results/engine.md, "Reading these numbers (session 9)"):
/// jemalloc took 15–25% off the engine's CPU per event on the Kafka path and 10–30% off each HTTP
/// request.
///
/// Linking is enough to take effect: `libjemalloc.so.2` comes before libc in the binary's needed
/// libraries, so its `malloc`/`free` are the ones every library in the process resolves to
/// (`AllocatorTests` checks that Swift's own allocations reach it). Every call into jemalloc goes
/// through this module; nothing else imports `CJemalloc`.
public enum Allocator {
    /// `jemalloc <version>`, e.g. `jemalloc 5.3.0-0-g54eaed1d8b56b1aa528be3bdd1877e59c56fa90c`.
    public static var description: String {
        var text: UnsafePointer<CChar>?
        var size = MemoryLayout<UnsafePointer<CChar>?>.size
        guard mallctl("version", &text, &size, nil, 0) == 0, let text else { return "jemalloc (version unknown)" }
        return "jemalloc \(String(cString: text))"
    }

    /// Bytes the application holds in allocations right now (jemalloc's `stats.allocated`: the
    /// usable size of every live allocation, size-class rounding included, allocator metadata and
    /// free pages excluded). Freed blocks the calling thread's cache holds count as allocated, so
    /// that cache is flushed first; and jemalloc publishes its statistics on an epoch bump, which
    /// this does next. nil if jemalloc was built without statistics.
    public static func allocatedBytes() -> Int? {
        _ = mallctl("thread.tcache.flush", nil, nil, nil, 0)
        var epoch: UInt64 = 1
        guard mallctl("epoch", nil, nil, &epoch, MemoryLayout<UInt64>.size) == 0 else { return nil }
        var allocated = 0
        var size = MemoryLayout<Int>.size
        guard mallctl("stats.allocated", &allocated, &size, nil, 0) == 0 else { return nil }
        return allocated
    }

    /// The bytes jemalloc hands out for a request of `bytes` (its size class: requests are rounded
    /// up to one of four sizes per doubling), so a buffer that can grow may use the rounding as
    /// capacity instead of carrying it as slack.
    public static func sizeClass(forBytes bytes: Int) -> Int {
        guard bytes > 0 else { return 0 }
        let rounded = Int(nallocx(bytes, 0))
        return rounded >= bytes ? rounded : bytes
    }
}
