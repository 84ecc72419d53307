import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A loopback port that looks like a Redis whose host stopped answering, for timeout tests that
/// need no services.
///
/// `.silent` accepts connections (the kernel completes the handshake) and never replies: every
/// command runs into the command timeout. `.unreachable` lets no connection complete: its accept
/// queue is full, so the kernel drops new SYNs and every connect runs into the connect timeout.
final class UnresponsiveRedis {
    enum Behaviour { case silent, unreachable }

    let port: Int
    private let listener: Int32
    private var queued: [Int32] = []

    init(_ behaviour: Behaviour) throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = TCPProxy.loopback(port: 0)
        let bound = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        // A backlog of 0 still queues one connection; filling it makes the listener drop SYNs.
        guard bound == 0, listen(listener, behaviour == .silent ? 64 : 0) == 0 else {
            close(listener)
            throw TCPProxy.Failure(description: "cannot listen on 127.0.0.1: errno \(errno)")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        self.listener = listener
        port = Int(UInt16(bigEndian: address.sin_port))
        if behaviour == .unreachable {
            for _ in 0..<2 { queued.append(try connectNonBlocking()) }
            // Let the kernel finish the handshakes that fit in the queue.
            usleep(50_000)
        }
    }

    deinit {
        for socket in queued { close(socket) }
        close(listener)
    }

    private func connectNonBlocking() throws -> Int32 {
        let client = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        var address = TCPProxy.loopback(port: port)
        let result = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(client, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 || errno == EINPROGRESS else {
            close(client)
            throw TCPProxy.Failure(description: "cannot queue a connection on 127.0.0.1:\(port): errno \(errno)")
        }
        return client
    }
}
