import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A loopback TCP proxy in front of a real service, which a test can cut (every connection
/// closed, new ones refused, exactly what a crashed server looks like to a client) and restore on
/// the same port: the service goes "down" for the engine under test only, not for other tests
/// sharing it.
final class TCPProxy: Sendable {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// The port clients connect to.
    let port: Int
    private let upstreamPort: Int
    private let state = Mutex<(listener: Int32?, connections: Set<Int32>)>((nil, []))
    /// Set by `loseNextReply`; taken by the next connection that gets data from upstream.
    private let replyToLose = Mutex(false)

    init(upstreamPort: Int) throws {
        self.upstreamPort = upstreamPort
        let listener = try Self.listen(port: 0)
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        port = Int(UInt16(bigEndian: address.sin_port))
        start(listener)
    }

    /// Closes every connection and stops accepting: clients get "connection refused".
    func cut() {
        let (listener, connections) = state.withLock { state in
            defer { state = (nil, []) }
            return state
        }
        if let listener {
            shutdown(listener, Int32(SHUT_RDWR))
            close(listener)
        }
        for socket in connections { shutdown(socket, Int32(SHUT_RDWR)) }
    }

    /// The next connection to get a reply from upstream never passes it (nor anything after it)
    /// on: the server did the work, the client waits in vain, as when a reply is lost on the way.
    func loseNextReply() { replyToLose.withLock { $0 = true } }

    /// Accepts connections again, on the same port.
    func restore() throws {
        start(try Self.listen(port: port))
    }

    private func start(_ listener: Int32) {
        state.withLock { $0.listener = listener }
        Thread.detachNewThread { [self] in acceptLoop(listener) }
    }

    private func acceptLoop(_ listener: Int32) {
        while true {
            let client = accept(listener, nil, nil)
            guard client >= 0 else { return }
            guard let upstream = try? Self.connect(port: upstreamPort) else {
                close(client)
                continue
            }
            let admitted = state.withLock { state -> Bool in
                guard state.listener == listener else { return false }
                state.connections.formUnion([client, upstream])
                return true
            }
            guard admitted else {
                close(client)
                close(upstream)
                continue
            }
            let pair = SocketPair(client, upstream, takeReplyToLose: { [self] in
                replyToLose.withLock { lose in
                    defer { lose = false }
                    return lose
                }
            }) { [self] in
                state.withLock { state in
                    state.connections.remove(client)
                    state.connections.remove(upstream)
                }
            }
            Thread.detachNewThread { pair.pump(from: client, to: upstream) }
            Thread.detachNewThread { pair.pump(from: upstream, to: client, losingReplies: true) }
        }
    }

    private static func listen(port: Int) throws -> Int32 {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw Failure(description: "socket: errno \(errno)") }
        var yes: Int32 = 1
        setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = loopback(port: port)
        let bound = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, Glibc.listen(socket, 64) == 0 else {
            let code = errno
            close(socket)
            throw Failure(description: "cannot listen on 127.0.0.1:\(port): errno \(code)")
        }
        return socket
    }

    private static func connect(port: Int) throws -> Int32 {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = loopback(port: port)
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(socket)
            throw Failure(description: "cannot connect to 127.0.0.1:\(port): errno \(errno)")
        }
        return socket
    }

    static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }
}

/// One proxied connection: two pumps; the second to finish closes both sockets.
private final class SocketPair: Sendable {
    private let sockets: (Int32, Int32)
    private let running = Mutex(2)
    private let onClose: @Sendable () -> Void
    private let takeReplyToLose: @Sendable () -> Bool

    init(_ a: Int32, _ b: Int32, takeReplyToLose: @escaping @Sendable () -> Bool, onClose: @escaping @Sendable () -> Void) {
        sockets = (a, b)
        self.onClose = onClose
        self.takeReplyToLose = takeReplyToLose
    }

    func pump(from source: Int32, to destination: Int32, losingReplies: Bool = false) {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        var losing = false
        copying: while true {
            let count = buffer.withUnsafeMutableBytes { read(source, $0.baseAddress, $0.count) }
            guard count > 0 else { break }
            if losingReplies, !losing { losing = takeReplyToLose() }
            if losing { continue }
            var sent = 0
            while sent < count {
                // MSG_NOSIGNAL: a peer that went away must not SIGPIPE the test process.
                let written = buffer.withUnsafeBytes { send(destination, $0.baseAddress! + sent, count - sent, Int32(MSG_NOSIGNAL)) }
                guard written > 0 else { break copying }
                sent += written
            }
        }
        // Either side ending ends both directions.
        shutdown(sockets.0, Int32(SHUT_RDWR))
        shutdown(sockets.1, Int32(SHUT_RDWR))
        let last = running.withLock { count in
            count -= 1
            return count == 0
        }
        if last {
            onClose()
            close(sockets.0)
            close(sockets.1)
        }
    }
}
