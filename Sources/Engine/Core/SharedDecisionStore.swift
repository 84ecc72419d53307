import Redis

/// Where `RedisDecisionCache` keeps encoded decisions: a key-value store shared by every engine
/// instance, with expiry. Both calls are one round trip for the whole batch and throw when the
/// store cannot be reached.
public protocol SharedDecisionStore: Sendable {
    /// The value under each key, nil where there is none.
    func values(of keys: [String]) async throws -> [[UInt8]?]
    /// Stores each value under its key unless the key already holds one, expiring after `ttl`;
    /// returns per entry the value that was already there, nil where this call stored it.
    func storeIfAbsent(_ entries: [(key: String, value: [UInt8])], ttl: Duration) async throws -> [[UInt8]?]
    /// Whether the store answers now: a cheap round trip, asked while the cache is degraded
    /// (`RecoveryProbe`). May block up to the connect and command timeouts, never a caller's thread.
    func ping() async -> Bool
}

/// `SharedDecisionStore` on Redis: one `MGET` to look a batch up, one pipeline of
/// `SET key value NX PX ttl GET` to remember it. `SET … NX GET` (Redis 7.0 and later) stores and
/// reports the existing value atomically, so when two instances decide the same payment at once,
/// exactly one decision is kept and both learn which.
///
/// The round trips block (up to the connect or command timeout while Redis is down), so they run
/// on threads of the store's own, at most two at a time: the batches waiting for them are
/// suspended tasks, not held threads of Swift's cooperative pool. When a call finds Redis
/// unavailable, the calls queued behind it fail at once (`RedisOutageMark`).
public final class RedisDecisionStore: SharedDecisionStore {
    private let pool: RedisConnectionPool
    private let io = BlockingExecutor(name: "redis-decisions", threads: 2)
    /// Calls queued when a call finds Redis unavailable fail at once (`RedisOutageMark`).
    private let outage = RedisOutageMark()

    public init(configuration: RedisConfiguration) {
        pool = RedisConnectionPool(configuration: configuration)
    }

    deinit { io.shutdown() }

    public func values(of keys: [String]) async throws -> [[UInt8]?] {
        guard !keys.isEmpty else { return [] }
        var command = RedisCommand("MGET")
        for key in keys { command.append(key) }
        let queuedAt = ContinuousClock.now
        let reply = try await io.run { [pool, outage, command] () throws(RedisError) in
            try outage.run(queuedAt: queuedAt) { () throws(RedisError) in
                try pool.withConnection { connection throws(RedisError) in try connection.send(command) }
            }
        }
        guard let elements = reply.array, elements.count == keys.count else {
            throw RedisError.unexpectedReply(command: "MGET", reply: reply.description)
        }
        return try elements.map { element throws(RedisError) in try Self.optionalBytes(element, command: "MGET") }
    }

    public func storeIfAbsent(_ entries: [(key: String, value: [UInt8])], ttl: Duration) async throws -> [[UInt8]?] {
        guard !entries.isEmpty else { return [] }
        let (seconds, attoseconds) = ttl.components
        let milliseconds = max(1, seconds * 1000 + attoseconds / 1_000_000_000_000_000)
        let commands = entries.map { entry in
            var command = RedisCommand("SET", entry.key)
            command.append(entry.value)
            command.append("NX")
            command.append("PX")
            command.append(milliseconds)
            command.append("GET")
            return command
        }
        let queuedAt = ContinuousClock.now
        let replies = try await io.run { [pool, outage] () throws(RedisError) in
            try outage.run(queuedAt: queuedAt) { () throws(RedisError) in
                try pool.withConnection { connection throws(RedisError) in try connection.pipeline(commands) }
            }
        }
        return try replies.map { reply throws(RedisError) in try Self.optionalBytes(reply, command: "SET NX GET") }
    }

    public func ping() async -> Bool {
        (try? await io.run { [pool] () throws(RedisError) in try pool.ping() }) != nil
    }

    private static func optionalBytes(_ reply: RedisReply, command: String) throws(RedisError) -> [UInt8]? {
        switch reply {
        case .bulk(let bytes): return bytes
        case .null: return nil
        case .error(let message): throw .server(message)
        default: throw .unexpectedReply(command: command, reply: reply.description)
        }
    }
}
