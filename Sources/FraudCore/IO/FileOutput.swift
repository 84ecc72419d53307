// Linux-only file I/O (the engine's deployment target); the rest of FraudCore has no I/O.
import Glibc

/// A buffered writer to a file (created or truncated) or to standard output for `-`.
///
/// Writers append whole records; the buffer goes to the descriptor in large writes. Call
/// `close()` to flush and see write errors; dropping the writer flushes on a best-effort basis.
public final class FileOutput {
    public let displayName: String
    private let descriptor: Int32
    private let ownsDescriptor: Bool
    private var buffer: [UInt8] = []
    private let capacity: Int
    private var isClosed = false

    public init(path: String, bufferBytes: Int = 256 * 1024) throws(FileIOError) {
        capacity = max(bufferBytes, 1)
        buffer.reserveCapacity(capacity)
        if path == "-" {
            displayName = "<stdout>"
            descriptor = STDOUT_FILENO
            ownsDescriptor = false
            return
        }
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileIOError(path: path, operation: "create", errno: errno) }
        displayName = path
        descriptor = fd
        ownsDescriptor = true
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

    /// Flushes and closes; further writes are a programming error.
    public func close() throws(FileIOError) {
        guard !isClosed else { return }
        isClosed = true
        try flush()
        if ownsDescriptor, Glibc.close(descriptor) != 0 {
            throw FileIOError(path: displayName, operation: "close", errno: errno)
        }
    }

    deinit {
        if !isClosed { try? close() }
    }
}
