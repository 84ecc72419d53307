// Linux-only file I/O (the engine's deployment target); the rest of FraudCore has no I/O.
import Glibc

/// A failed open, read or write, naming the file and the operating system's reason.
public struct FileIOError: Error, Hashable, Sendable, CustomStringConvertible {
    public var path: String
    public var operation: String
    public var reason: String

    public init(path: String, operation: String, reason: String) {
        self.path = path
        self.operation = operation
        self.reason = reason
    }

    init(path: String, operation: String, errno code: Int32) {
        self.init(path: path, operation: operation, reason: String(cString: strerror(code)))
    }

    public var description: String { "cannot \(operation) \"\(path)\": \(reason)" }
}

/// A file (or standard input for `-`) read in chunks through its descriptor, which it owns.
final class FileInput {
    /// The name used in messages: the path, or `<stdin>`.
    let displayName: String
    private let descriptor: Int32
    private let ownsDescriptor: Bool

    init(path: String) throws(FileIOError) {
        if path == "-" {
            displayName = "<stdin>"
            descriptor = STDIN_FILENO
            ownsDescriptor = false
            return
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FileIOError(path: path, operation: "open", errno: errno) }
        displayName = path
        descriptor = fd
        ownsDescriptor = true
    }

    /// Reads up to `count` bytes into `destination`; 0 means end of file.
    func read(into destination: UnsafeMutablePointer<UInt8>, count: Int) throws(FileIOError) -> Int {
        while true {
            let n = Glibc.read(descriptor, destination, count)
            if n >= 0 { return n }
            if errno == EINTR { continue }
            throw FileIOError(path: displayName, operation: "read", errno: errno)
        }
    }

    deinit {
        if ownsDescriptor { close(descriptor) }
    }
}
