import Foundation
import Server
import Testing
@testable import Services
import LocalStackSupport

/// A raw TCP client on loopback: it sends some bytes (or none) and then only reads, to see whether
/// and when the server closes the connection.
enum IdleClient {
    /// Seconds from sending `bytes` until the server closed the connection (end of stream or
    /// reset), or nil if it was still open after `limit` seconds. Runs off the cooperative pool:
    /// it blocks in poll(2).
    static func secondsUntilClosed(port: Int, sending bytes: String, limit: Double) async throws -> Double? {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result { try blockingSecondsUntilClosed(port: port, sending: bytes, limit: limit) })
            }
        }
    }

    private static func blockingSecondsUntilClosed(port: Int, sending bytes: String, limit: Double) throws -> Double? {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .ECONNREFUSED) }
        let start = ContinuousClock.now
        func elapsed() -> Double {
            let duration = ContinuousClock.now - start
            return Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        }
        var utf8 = Array(bytes.utf8)
        if !utf8.isEmpty { guard send(socket, &utf8, utf8.count, 0) == utf8.count else { throw POSIXError(.EIO) } }
        var buffer = [UInt8](repeating: 0, count: 4096)
        while elapsed() < limit {
            var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, Int32(max(1, (limit - elapsed()) * 1000)))
            if ready == 0 { return nil }
            // A response (to a whole request) is read and skipped; then only the close counts.
            if recv(socket, &buffer, buffer.count, 0) <= 0 { return elapsed() }
        }
        return nil
    }

    static let slowLoris = "GET /actuator/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
    static let keepAliveRequest = "GET /actuator/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
}

/// Every HTTP server of the platform closes a connection that does nothing: one that sends
/// nothing, one that stops in the middle of its request head (slow loris), and one left open after
/// a keep-alive request. Before, Hummingbird's `.http1()` had no idle timeout and each of these
/// held its connection for good. The timeout is 1 s here; the servers' default is 75 s.
struct IdleConnectionTests {
    static let cases = [("nothing sent", ""), ("half a request head", IdleClient.slowLoris), ("after a keep-alive request", IdleClient.keepAliveRequest)]

    static func expectClosedAfterTheTimeout(port: Int, _ name: String, _ bytes: String) async throws {
        let seconds = try await IdleClient.secondsUntilClosed(port: port, sending: bytes, limit: 10)
        #expect(seconds != nil, "\(name): still open after 10 s")
        // Closed by the timeout, not at once (a refused request would close at once too).
        #expect((seconds ?? 0) >= 0.9, "\(name): closed after \(seconds ?? 0) s")
    }

    @Test("the engine's server closes idle connections (http.idle_timeout)", arguments: cases)
    func engine(name: String, bytes: String) async throws {
        try await LiveEngine.with(idleTimeout: .seconds(1)) { port in
            try await Self.expectClosedAfterTheTimeout(port: port, name, bytes)
        }
    }

    // Needs PostgreSQL (the services migrate at start): runs under scripts/test (WAQITI_INTEGRATION=1).
    @Test("every service closes idle connections (http.idle_timeout)", .enabled(if: LocalStack.isEnabled, LocalStack.skipMessage),
          arguments: ["payment", "wallet", "reconciliation"])
    func service(name: String) async throws {
        try await ServiceAuthenticationTests.withService(name, configure: { $0.httpIdleTimeout = .seconds(1) }) { client in
            let port = try #require(URLComponents(string: client.base)?.port)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (label, bytes) in Self.cases {
                    group.addTask { try await Self.expectClosedAfterTheTimeout(port: port, "\(name), \(label)", bytes) }
                }
                try await group.waitForAll()
            }
        }
    }
}
