import CHiredis
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// One blocking connection to Redis over hiredis, owning its `redisContext`.
///
/// Commands go out pipelined: `pipeline(_:)` writes every command and then reads every reply, one
/// network round trip for the whole batch. Calls block the calling thread for at most
/// `commandTimeout` per read or write, so keep them off latency-critical cooperative threads or
/// accept that bound (sub-millisecond on loopback).
///
/// Thread-safety: not thread-safe, and deliberately not `Sendable`. Use one connection per task
/// or thread, or borrow one from `RedisConnectionPool`.
///
/// Failure: a connection error or timeout drops the context and throws a typed `RedisError`; the
/// next call reconnects (with AUTH and SELECT). A failed batch is not resent automatically because
/// Redis may have executed part of it; the caller decides (the feature store degrades).
public final class RedisConnection {
    public let configuration: RedisConfiguration
    private var context: UnsafeMutablePointer<redisContext>?
    private var scratch = ArgvScratch()
    private var lostConnection = false
    /// The server's `run_id` (INFO server) as the current connection found it: new at every
    /// server start and different on every server, so a change means a restart or a failover,
    /// after which data acknowledged before may be gone (a list's tail lost with the last second
    /// of an AOF). Nil before the first connection, or when the server refuses INFO.
    public private(set) var serverRunID: String?
    private let logger: Logger

    /// Connects eagerly, so a wrong address or password fails here, at start-up.
    public init(configuration: RedisConfiguration, logger: Logger = Logger(label: "waqiti.redis")) throws(RedisError) {
        self.configuration = configuration
        self.logger = logger
        try connect()
    }

    deinit { disconnect() }

    public var isConnected: Bool { context != nil }

    /// Closes the socket; the next command connects again.
    public func disconnect() {
        if let context {
            redisFree(context)
            self.context = nil
        }
    }

    /// Sends every command, then reads every reply: one round trip. Error replies are returned in
    /// place (`.error`), so one failing command does not hide the others' replies.
    ///
    /// - Parameter scripts: scripts that `EVALSHA` commands in the batch use. Calls that fail with
    ///   `NOSCRIPT` (they did not run) are retried once after `SCRIPT LOAD` of these scripts.
    public func pipeline(_ commands: [RedisCommand], loading scripts: [RedisScript] = []) throws(RedisError) -> [RedisReply] {
        try pipeline(replies: Array(repeating: 1, count: commands.count), loading: scripts) { context, i, scratch in
            Self.append(commands[i], to: context, scratch: &scratch)
        }
    }

    /// `pipeline(_:loading:)` for commands already encoded as RESP (`RESPWriter`): a large command
    /// built in one reusable buffer goes out without being split into arguments again. A buffer may
    /// hold several commands (a `MULTI` … `EXEC` block written as one buffer): `replies[i]` is how
    /// many replies buffer `i` gets. Returns every reply, in order. Only a buffer of one command is
    /// retried after `NOSCRIPT`.
    public func pipeline(encoded commands: [[UInt8]], replies counts: [Int], loading scripts: [RedisScript] = []) throws(RedisError) -> [RedisReply] {
        precondition(counts.count == commands.count, "one reply count per buffer")
        return try pipeline(replies: counts, loading: scripts) { context, i, _ in
            commands[i].withUnsafeBufferPointer { bytes in
                bytes.withMemoryRebound(to: CChar.self) { redisAppendFormattedCommand(context, $0.baseAddress, $0.count) }
            }
        }
    }

    private func pipeline(
        replies counts: [Int], loading scripts: [RedisScript],
        append: (UnsafeMutablePointer<redisContext>, Int, inout ArgvScratch) -> Int32
    ) throws(RedisError) -> [RedisReply] {
        if context == nil { try connect() }
        var replies = try roundTrip(Array(counts.indices), replies: counts, append: append)
        guard !scripts.isEmpty, replies.contains(where: { $0.errorMessage?.hasPrefix("NOSCRIPT") == true }) else { return replies }
        // The first reply of each buffer of one command: the ones a retry may send again.
        var firsts: [(command: Int, reply: Int)] = []
        var next = 0
        for (i, n) in counts.enumerated() {
            if n == 1 { firsts.append((i, next)) }
            next += n
        }
        let missing = firsts.filter { replies[$0.reply].errorMessage?.hasPrefix("NOSCRIPT") == true }
        guard !missing.isEmpty else { return replies }
        try load(scripts)
        let retried = try roundTrip(missing.map(\.command), replies: counts, append: append)
        for (index, reply) in zip(missing, retried) { replies[index.reply] = reply }
        return replies
    }

    /// One command; an error reply throws `RedisError.server`.
    @discardableResult
    public func send(_ command: RedisCommand) throws(RedisError) -> RedisReply {
        try Self.successful(pipeline([command])[0])
    }

    /// Runs `script` with `EVALSHA`, loading it first if the server does not know it.
    @discardableResult
    public func evalSHA(_ script: RedisScript, keys: [[UInt8]], arguments: [[UInt8]]) throws(RedisError) -> RedisReply {
        try Self.successful(pipeline([script.invocation(keys: keys, arguments: arguments)], loading: [script])[0])
    }

    /// `SCRIPT LOAD` for each script, checking that Redis names it by the SHA-1 computed here.
    public func load(_ scripts: [RedisScript]) throws(RedisError) {
        let replies = try pipeline(scripts.map { RedisCommand("SCRIPT", "LOAD", $0.source) })
        for (script, reply) in zip(scripts, replies) {
            let loaded = try Self.successful(reply)
            guard loaded.string == script.sha1 else {
                throw .unexpectedReply(command: "SCRIPT LOAD", reply: "\(loaded) (expected \(script.sha1))")
            }
        }
    }

    private static func successful(_ reply: RedisReply) throws(RedisError) -> RedisReply {
        if case .error(let message) = reply { throw .server(message) }
        return reply
    }

    /// Connects (with AUTH, SELECT and INFO) unless a connection is open, so `serverRunID`
    /// describes the server the next call goes to. No round trip on an open connection.
    public func connectIfNeeded() throws(RedisError) {
        if context == nil { try connect() }
    }

    // MARK: - hiredis

    private func connect() throws(RedisError) {
        let endpoint = configuration.endpoint
        guard let newContext = redisConnectWithTimeout(configuration.host, Int32(configuration.port), timeval(configuration.connectTimeout)) else {
            throw .connectionFailed(endpoint: endpoint, reason: "hiredis could not allocate a context")
        }
        if newContext.pointee.err != 0 {
            let reason = Self.errorText(newContext)
            redisFree(newContext)
            throw .connectionFailed(endpoint: endpoint, reason: reason)
        }
        guard redisSetTimeout(newContext, timeval(configuration.commandTimeout)) == REDIS_OK else {
            let reason = Self.errorText(newContext)
            redisFree(newContext)
            throw .connectionFailed(endpoint: endpoint, reason: "cannot set the command timeout: \(reason)")
        }
        // Pipelined batches are latency-bound: never let Nagle hold back the last segment.
        var enabled: Int32 = 1
        _ = setsockopt(newContext.pointee.fd, Int32(IPPROTO_TCP), TCP_NODELAY, &enabled, socklen_t(MemoryLayout<Int32>.size))
        context = newContext
        try handshake()
        if lostConnection {
            logger.info("reconnected to Redis", metadata: ["endpoint": "\(endpoint)"])
            lostConnection = false
        }
    }

    /// AUTH, SELECT and INFO server, in one round trip; a refused AUTH or SELECT is a failed
    /// connection, not a server error. A refused INFO (renamed away on some managed servers)
    /// only leaves `serverRunID` unknown.
    private func handshake() throws(RedisError) {
        var commands: [RedisCommand] = []
        if let password = configuration.password {
            commands.append(configuration.username.map { RedisCommand("AUTH", $0, password) } ?? RedisCommand("AUTH", password))
        }
        if configuration.database != 0 {
            commands.append(RedisCommand("SELECT", String(configuration.database)))
        }
        commands.append(RedisCommand("INFO", "server"))
        let replies: [RedisReply]
        do {
            replies = try roundTrip(commands)
        } catch {
            throw .connectionFailed(endpoint: configuration.endpoint, reason: "during the handshake (\(commands.map(\.name).joined(separator: ", "))): \(error)")
        }
        for (command, reply) in zip(commands.dropLast(), replies) {
            if case .error(let message) = reply {
                disconnect()
                throw .connectionFailed(endpoint: configuration.endpoint, reason: "\(command.name) refused: \(message)")
            }
        }
        let runID = replies.last?.string.flatMap(Self.runID(inInfo:))
        if let previous = serverRunID, let runID, runID != previous {
            logger.warning("the Redis server changed (a restart or a failover): data acknowledged before may be gone", metadata: [
                "endpoint": "\(configuration.endpoint)", "previous_run_id": "\(previous)", "run_id": "\(runID)",
            ])
        }
        serverRunID = runID
    }

    /// The `run_id:` field of an INFO answer.
    static func runID(inInfo text: String) -> String? {
        for line in text.split(whereSeparator: \.isNewline) where line.hasPrefix("run_id:") {
            return String(line.dropFirst("run_id:".count))
        }
        return nil
    }

    private func roundTrip(_ commands: [RedisCommand]) throws(RedisError) -> [RedisReply] {
        try roundTrip(Array(commands.indices), replies: Array(repeating: 1, count: commands.count)) { context, i, scratch in Self.append(commands[i], to: context, scratch: &scratch) }
    }

    private static func append(_ command: RedisCommand, to context: UnsafeMutablePointer<redisContext>, scratch: inout ArgvScratch) -> Int32 {
        precondition(command.argumentCount > 0, "a Redis command needs at least its name")
        return command.withArgv(scratch: &scratch) { count, argv, lengths in
            redisAppendCommandArgv(context, count, argv, lengths)
        }
    }

    /// Appends the commands at `indices` (through `append`), then reads `counts[i]` replies for command buffer `i`.
    private func roundTrip(
        _ indices: [Int], replies counts: [Int], append: (UnsafeMutablePointer<redisContext>, Int, inout ArgvScratch) -> Int32
    ) throws(RedisError) -> [RedisReply] {
        guard let context else { throw .connectionLost(endpoint: configuration.endpoint, reason: "not connected") }
        for i in indices where append(context, i, &scratch) != REDIS_OK {
            throw failure(of: context)
        }
        let total = indices.reduce(0) { $0 + counts[$1] }
        var replies: [RedisReply] = []
        replies.reserveCapacity(total)
        for _ in 0..<total {
            var raw: UnsafeMutableRawPointer?
            guard redisGetReply(context, &raw) == REDIS_OK, let raw else { throw failure(of: context) }
            let reply = raw.assumingMemoryBound(to: redisReply.self)
            replies.append(Self.convert(reply))
            freeReplyObject(raw)
        }
        return replies
    }

    /// Classifies the context's error and drops the context: after a failure mid-pipeline the
    /// stream position is unknown, so the connection cannot be reused.
    private func failure(of failed: UnsafeMutablePointer<redisContext>) -> RedisError {
        let lastErrno = errno
        let code = failed.pointee.err
        let reason = Self.errorText(failed)
        disconnect()
        lostConnection = true
        let endpoint = configuration.endpoint
        if code == REDIS_ERR_IO && (lastErrno == EAGAIN || lastErrno == EWOULDBLOCK) {
            logger.warning("Redis timed out", metadata: ["endpoint": "\(endpoint)", "timeout": "\(configuration.commandTimeout)"])
            return .timeout(endpoint: endpoint, after: configuration.commandTimeout)
        }
        logger.warning("Redis connection lost", metadata: ["endpoint": "\(endpoint)", "reason": "\(reason)"])
        return .connectionLost(endpoint: endpoint, reason: reason)
    }

    private static func errorText(_ context: UnsafeMutablePointer<redisContext>) -> String {
        withUnsafeBytes(of: context.pointee.errstr) { bytes in
            String(decoding: bytes.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
    }

    private static func convert(_ pointer: UnsafePointer<redisReply>) -> RedisReply {
        let reply = pointer.pointee
        func text() -> String {
            String(decoding: UnsafeRawBufferPointer(start: reply.str, count: reply.len), as: UTF8.self)
        }
        switch reply.type {
        case REDIS_REPLY_STRING: return .bulk(Array(UnsafeRawBufferPointer(start: reply.str, count: reply.len)))
        case REDIS_REPLY_STATUS: return .status(text())
        case REDIS_REPLY_ERROR: return .error(text())
        case REDIS_REPLY_INTEGER: return .integer(Int64(reply.integer))
        case REDIS_REPLY_NIL: return .null
        case REDIS_REPLY_ARRAY:
            return .array((0..<reply.elements).map { convert(reply.element[$0]!) })
        default: return .error("unsupported reply type \(reply.type) from hiredis")
        }
    }

    /// Whether the socket has TCP_NODELAY set; for tests.
    var tcpNoDelay: Bool {
        guard let context else { return false }
        var value: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        return getsockopt(context.pointee.fd, Int32(IPPROTO_TCP), TCP_NODELAY, &value, &length) == 0 && value != 0
    }
}

extension timeval {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self.init(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
    }
}
