#if canImport(Glibc)
import Glibc
#endif

/// The calling thread's name as `top -H`, `perf`, gdb and `/proc` show it.
public enum ThreadName {
    /// Names the calling thread (its first 15 bytes; the kernel keeps no more).
    ///
    /// Done by the thread itself, through the kernel. Foundation's `Thread.name` setter names a
    /// thread only once the parent's `start()` has stored its pthread id, so a thread that sets
    /// its own name before that kept its creator's name, and a name set before `start()` is
    /// dropped. `pthread_setname_np` needs `_GNU_SOURCE`, which Swift's Glibc module lacks; this
    /// is what it does for the calling thread.
    public static func setCurrent(_ name: String) {
        let comm = open("/proc/thread-self/comm", O_WRONLY)
        guard comm >= 0 else { return }
        let bytes = Array(name.utf8.prefix(15))
        _ = bytes.withUnsafeBytes { write(comm, $0.baseAddress, $0.count) }
        close(comm)
    }

    /// The calling thread's name, or "" where `/proc` cannot be read.
    public static var current: String {
        let comm = open("/proc/thread-self/comm", O_RDONLY)
        guard comm >= 0 else { return "" }
        defer { close(comm) }
        var buffer = [UInt8](repeating: 0, count: 32)
        let count = buffer.withUnsafeMutableBytes { read(comm, $0.baseAddress, $0.count) }
        guard count > 0 else { return "" }
        return String(decoding: buffer[..<count], as: UTF8.self).trimmingSuffixNewline()
    }
}

private extension String {
    func trimmingSuffixNewline() -> String {
        hasSuffix("\n") ? String(dropLast()) : self
    }
}
