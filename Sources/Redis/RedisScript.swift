/// A Lua script run with `EVALSHA`. Its SHA-1 is computed locally, so the first call needs no
/// `SCRIPT LOAD`; when the server does not know the script (`NOSCRIPT`: restart, `SCRIPT FLUSH`,
/// failover), `RedisConnection` loads it and retries those calls once.
public struct RedisScript: Sendable, Hashable {
    public let source: String
    /// Lowercase hex SHA-1 of `source`, the name Redis gives the loaded script.
    public let sha1: String

    public init(_ source: String) {
        self.source = source
        self.sha1 = SHA1.hex(source.utf8)
    }

    /// `EVALSHA sha1 numkeys key… arg…` for this script.
    public func invocation(keys: [[UInt8]], arguments: [[UInt8]]) -> RedisCommand {
        var command = RedisCommand("EVALSHA", sha1)
        command.append(keys.count)
        for key in keys { command.append(key) }
        for argument in arguments { command.append(argument) }
        return command
    }

    /// `EVALSHA` with text keys and arguments.
    public func invocation(keys: [String], arguments: [String]) -> RedisCommand {
        invocation(keys: keys.map { Array($0.utf8) }, arguments: arguments.map { Array($0.utf8) })
    }
}
