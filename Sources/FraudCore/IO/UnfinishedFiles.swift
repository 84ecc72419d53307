import Glibc
import Synchronization

/// The temporary files that atomic `FileOutput`s are writing, process-wide.
///
/// A replay stopped with Ctrl-C (or SIGTERM) used to leave its hidden `.NAME.PID-N.tmp` files
/// beside every output, half-written and never removed. A command that writes atomic outputs
/// calls `removeAll()` from its signal handling before the process ends; a process killed outright
/// (SIGKILL, a crash) leaves them, and the next writer beside the same target removes them
/// (`FileOutput` sweeps temporaries whose process is gone).
public enum UnfinishedFiles {
    private static let paths = Mutex<Set<String>>([])

    static func register(_ path: String) {
        _ = paths.withLock { $0.insert(path) }
    }

    static func unregister(_ path: String) {
        _ = paths.withLock { $0.remove(path) }
    }

    /// The files being written now.
    public static var current: Set<String> { paths.withLock { $0 } }

    /// Removes every file being written, for a process about to end on a signal, and returns how
    /// many: the targets keep what they held before. Writers still running fail on their next
    /// write or rename.
    @discardableResult
    public static func removeAll() -> Int {
        paths.withLock { paths in
            for path in paths { unlink(path) }
            defer { paths.removeAll() }
            return paths.count
        }
    }

    /// How long a temporary file must have been left unchanged before it counts as abandoned:
    /// a process in another PID namespace sharing the folder (a container) looks gone to
    /// `kill(pid, 0)` while it writes.
    static let abandonedAfterSeconds = 60

    /// Removes `.NAME.PID-N.tmp` files beside `target` left by processes that no longer run
    /// (a writer killed before it could clean up) and unchanged for a minute. A file whose
    /// process still runs is left alone; so is everything that is not such a name.
    static func removeAbandoned(beside folder: String, name: String) {
        guard let directory = opendir(folder.isEmpty ? "." : folder) else { return }
        defer { closedir(directory) }
        let prefix = ".\(name).", me = getpid()
        while let entry = readdir(directory) {
            let entryName = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            guard entryName.hasPrefix(prefix), entryName.hasSuffix(".tmp") else { continue }
            let middle = entryName.dropFirst(prefix.count).dropLast(4)
            guard let dash = middle.firstIndex(of: "-"), let pid = Int32(middle[..<dash]), pid > 0, pid != me,
                  Int(middle[middle.index(after: dash)...]) != nil else { continue }
            // Only a process that is gone: kill(pid, 0) fails with ESRCH. EPERM means it runs
            // under another user.
            guard kill(pid, 0) != 0, errno == ESRCH else { continue }
            let path = folder + entryName
            var info = stat()
            guard lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG,
                  time(nil) - info.st_mtim.tv_sec >= abandonedAfterSeconds else { continue }
            unlink(path)
        }
    }
}
