// Linux-only file I/O (the engine's deployment target); the rest of FraudCore has no I/O.
import Glibc

/// A buffered writer to a file (created or truncated) or to standard output for `-`.
///
/// Writers append whole records; the buffer goes to the descriptor in large writes. Call
/// `close()` to flush and see write errors; dropping the writer flushes on a best-effort basis.
///
/// With `replacingAtomically`, a regular file (or a new one) is written to a hidden temporary
/// file beside it and renamed over it by `close()`: a run that fails, or `discard()`s, leaves the
/// old file as it was instead of a truncated one (a replay stopped by a bad cache once left an
/// empty decisions file where yesterday's good one had been). Standard output and files that are
/// not regular (a FIFO, `/dev/null`) are written in place: renaming over a device is never right.
/// Temporary files are listed in `UnfinishedFiles` while they are written, for a command's signal
/// handling to remove, and one left by a process that no longer runs is removed by the next
/// writer beside the same target.
public final class FileOutput {
    public let displayName: String
    private let descriptor: Int32
    private let ownsDescriptor: Bool
    private var buffer: [UInt8] = []
    private let capacity: Int
    private var isClosed = false
    /// The temporary file and the file it replaces at `close()`, in atomic mode.
    private let replacement: (temporary: String, target: String)?

    public init(path: String, bufferBytes: Int = 256 * 1024, replacingAtomically: Bool = false) throws(FileIOError) {
        capacity = max(bufferBytes, 1)
        buffer.reserveCapacity(capacity)
        if path == "-" {
            displayName = "<stdout>"
            descriptor = STDOUT_FILENO
            ownsDescriptor = false
            replacement = nil
            return
        }
        displayName = path
        ownsDescriptor = true
        var info = stat()
        let exists = stat(path, &info) == 0
        if exists, (info.st_mode & S_IFMT) == S_IFDIR { throw FileIOError(path: path, operation: "create", errno: EISDIR) }
        guard replacingAtomically, !exists || (info.st_mode & S_IFMT) == S_IFREG else {
            let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw FileIOError(path: path, operation: "create", errno: errno) }
            descriptor = fd
            replacement = nil
            return
        }
        // Through a symbolic link, the file it points at is replaced, not the link.
        let target = exists ? (Self.realPath(path) ?? path) : path
        let (fd, temporary) = try Self.createTemporary(beside: target)
        // The replacement keeps an existing file's permissions.
        if exists { _ = fchmod(fd, info.st_mode & 0o7777) }
        descriptor = fd
        replacement = (temporary, target)
    }

    /// The temporary file's name: hidden, beside `target` (a rename within one file system),
    /// naming the process, and created exclusively so two writers never share one.
    private static func createTemporary(beside target: String) throws(FileIOError) -> (Int32, String) {
        let slash = target.lastIndex(of: "/")
        let folder = slash.map { String(target[...$0]) } ?? ""
        let name = slash.map { String(target[target.index(after: $0)...]) } ?? target
        UnfinishedFiles.removeAbandoned(beside: folder, name: name)
        var attempt = 0
        while true {
            let temporary = "\(folder).\(name).\(getpid())-\(attempt).tmp"
            let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            if fd >= 0 {
                UnfinishedFiles.register(temporary)
                return (fd, temporary)
            }
            let code = errno
            guard code == EEXIST, attempt < 100 else { throw FileIOError(path: target, operation: "create", errno: code) }
            attempt += 1
        }
    }

    private static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    public func write(_ bytes: [UInt8]) throws(FileIOError) {
        buffer.append(contentsOf: bytes)
        if buffer.count >= capacity { try flush() }
    }

    /// Lets a writer append straight into the output buffer (no intermediate copy).
    public func append(_ body: (inout [UInt8]) -> Void) throws(FileIOError) {
        body(&buffer)
        if buffer.count >= capacity { try flush() }
    }

    public func flush() throws(FileIOError) {
        var written = 0
        while written < buffer.count {
            let n = buffer.withUnsafeBytes { raw in
                Glibc.write(descriptor, raw.baseAddress! + written, raw.count - written)
            }
            if n < 0 {
                if errno == EINTR { continue }
                let code = errno
                buffer.removeAll(keepingCapacity: true)
                throw FileIOError(path: displayName, operation: "write", errno: code)
            }
            written += n
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes and closes (in atomic mode: renames the finished file into place); further
    /// writes are a programming error.
    public func close() throws(FileIOError) {
        guard !isClosed else { return }
        isClosed = true
        do throws(FileIOError) {
            try flush()
            if ownsDescriptor, Glibc.close(descriptor) != 0 {
                throw FileIOError(path: displayName, operation: "close", errno: errno)
            }
        } catch {
            if let replacement { Self.remove(replacement.temporary) }
            throw error
        }
        guard let replacement else { return }
        if rename(replacement.temporary, replacement.target) != 0 {
            let code = errno
            Self.remove(replacement.temporary)
            throw FileIOError(path: displayName, operation: "move the finished file into place at", errno: code)
        }
        UnfinishedFiles.unregister(replacement.temporary)
    }

    private static func remove(_ temporary: String) {
        unlink(temporary)
        UnfinishedFiles.unregister(temporary)
    }

    /// Drops what was written: in atomic mode the temporary file is removed and the old file (if
    /// any) stays; otherwise the same as `close()` without reporting errors.
    public func discard() {
        guard !isClosed else { return }
        guard let replacement else { try? close(); return }
        isClosed = true
        buffer.removeAll()
        Glibc.close(descriptor)
        Self.remove(replacement.temporary)
    }

    deinit {
        // An atomic output dropped without close() belongs to a run that failed: not published.
        if replacement != nil { discard() } else if !isClosed { try? close() }
    }
}
