import Logging
import Synchronization

/// A small pool of `RedisConnection`s for callers on many tasks or threads: each call borrows a
/// connection exclusively for the duration of `withConnection`, then returns it. Connections are
/// created on demand (no upper bound on concurrent borrowers; Redis is single-threaded anyway,
/// so a handful suffices) and at most `maximumIdle` are kept open between uses.
@available(macOS 15, *)
public final class RedisConnectionPool: Sendable {
    public let configuration: RedisConfiguration
    public let maximumIdle: Int
    private let idle = Mutex<[PooledConnection]>([])
    private let logger: Logger

    public init(configuration: RedisConfiguration, maximumIdle: Int = 4, logger: Logger = Logger(label: "waqiti.redis")) {
        self.configuration = configuration
        self.maximumIdle = maximumIdle
        self.logger = logger
    }

    /// Borrows a connection (opening one if none is idle) for `body`. A connection that lost its
    /// socket during `body` is not kept.
    public func withConnection<Result>(_ body: (RedisConnection) throws(RedisError) -> Result) throws(RedisError) -> Result {
        let pooled: PooledConnection
        if let reused = idle.withLock({ $0.popLast() }) {
            pooled = reused
        } else {
            pooled = PooledConnection(try RedisConnection(configuration: configuration, logger: logger))
        }
        defer {
            if pooled.connection.isConnected {
                idle.withLock { connections in
                    if connections.count < maximumIdle { connections.append(pooled) }
                }
            }
        }
        return try body(pooled.connection)
    }

    /// Whether Redis answers now: `PING` on a pooled connection (a new one when none is idle). A
    /// connection that fails it leaves the pool, so a dead idle socket is not handed out again.
    /// Blocks for up to the connect and command timeouts.
    public func ping() throws(RedisError) {
        let reply = try withConnection { connection throws(RedisError) in try connection.send(RedisCommand("PING")) }
        guard case .status("PONG") = reply else { throw .unexpectedReply(command: "PING", reply: reply.description) }
    }

    /// Connections idle in the pool now.
    public var idleCount: Int { idle.withLock { $0.count } }
}

/// Moves a connection between threads through the pool's lock. Safe because the pool hands each
/// connection to one borrower at a time, which is all `RedisConnection` requires.
private final class PooledConnection: @unchecked Sendable {
    let connection: RedisConnection
    init(_ connection: RedisConnection) { self.connection = connection }
}
