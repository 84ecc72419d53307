import Testing
@testable import Redis
import LocalStackSupport

/// Against the real redis-server that scripts/test starts (WAQITI_REDIS_URL).
@Suite("Redis against redis-server", .enabled(if: LocalStack.isEnabled, LocalStack.skipMessage))
struct RedisIntegrationTests {
    let configuration: RedisConfiguration

    init() throws {
        configuration = try RedisConfiguration(url: LocalStack.required("WAQITI_REDIS_URL"))
    }

    @Test("A pipeline of 1,000 commands returns exactly the expected replies, binary values intact")
    func pipeline() throws {
        let connection = try RedisConnection(configuration: configuration)
        let prefix = LocalStack.uniqueName("pipeline")
        func value(_ i: Int) -> [UInt8] { [0x00, 0xFF, 0x0D, 0x0A] + Array("value-\(i)".utf8) + [0x00] }

        var writes: [RedisCommand] = []
        for i in 0..<500 {
            var set = RedisCommand("SET", "\(prefix):\(i)")
            set.append(value(i))
            writes.append(set)
            writes.append(RedisCommand("INCRBY", "\(prefix):counter", String(i)))
        }
        let writeReplies = try connection.pipeline(writes)
        #expect(writeReplies.count == 1_000)
        var expectedWrites: [RedisReply] = []
        var total: Int64 = 0
        for i in 0..<500 {
            total += Int64(i)
            expectedWrites += [.status("OK"), .integer(total)]
        }
        #expect(writeReplies == expectedWrites)

        var reads = (0..<500).map { RedisCommand("GET", "\(prefix):\($0)") }
        reads.append(RedisCommand("GET", "\(prefix):counter"))
        reads.append(RedisCommand("GET", "\(prefix):missing"))
        let readReplies = try connection.pipeline(reads)
        #expect(readReplies == (0..<500).map { .bulk(value($0)) } + [.bulk(Array("124750".utf8)), .null])

        let deleted = try connection.send(RedisCommand(arguments: [Array("DEL".utf8)] + (0..<500).map { Array("\(prefix):\($0)".utf8) } + [Array("\(prefix):counter".utf8)]))
        #expect(deleted == .integer(501))
    }

    @Test("An error reply in a pipeline stays in its place; send() throws it as a server error")
    func errorReplies() throws {
        let connection = try RedisConnection(configuration: configuration)
        let key = LocalStack.uniqueName("text")
        let replies = try connection.pipeline([
            RedisCommand("SET", key, "not a number"), RedisCommand("INCR", key), RedisCommand("GET", key), RedisCommand("DEL", key),
        ])
        #expect(replies == [.status("OK"), .error("ERR value is not an integer or out of range"), .bulk(Array("not a number".utf8)), .integer(1)])
        #expect(throws: RedisError.server("ERR unknown command 'NOSUCHCOMMAND', with args beginning with: ")) {
            try connection.send(RedisCommand("NOSUCHCOMMAND"))
        }
        #expect(try connection.send(RedisCommand("PING")) == .status("PONG"))
    }

    @Test("EVALSHA loads the script after NOSCRIPT (including after SCRIPT FLUSH) and retries once")
    func evalSHA() throws {
        let connection = try RedisConnection(configuration: configuration)
        let key = LocalStack.uniqueName("script")
        let script = RedisScript("return redis.call('INCRBY', KEYS[1], ARGV[1]) * 10")
        try connection.send(RedisCommand("SCRIPT", "FLUSH"))
        #expect(try connection.send(RedisCommand("SCRIPT", "EXISTS", script.sha1)) == .array([.integer(0)]))

        #expect(try connection.evalSHA(script, keys: [Array(key.utf8)], arguments: [Array("5".utf8)]) == .integer(50))
        #expect(try connection.send(RedisCommand("SCRIPT", "EXISTS", script.sha1)) == .array([.integer(1)]))
        #expect(try connection.evalSHA(script, keys: [Array(key.utf8)], arguments: [Array("1".utf8)]) == .integer(60))

        try connection.send(RedisCommand("SCRIPT", "FLUSH"))
        let batch = (1...3).map { script.invocation(keys: [key], arguments: [String($0)]) } + [RedisCommand("GET", key)]
        // Every EVALSHA fails with NOSCRIPT (and does not run), GET sees 6; then the three reruns.
        #expect(try connection.pipeline(batch, loading: [script]) == [.integer(70), .integer(90), .integer(120), .bulk(Array("6".utf8))])
        #expect(try connection.send(RedisCommand("GET", key)) == .bulk(Array("12".utf8)))
        try connection.send(RedisCommand("DEL", key))
    }

    @Test("A script that does not compile is a server error, not a retry loop")
    func badScript() throws {
        let connection = try RedisConnection(configuration: configuration)
        let script = RedisScript("this is not lua")
        #expect {
            try connection.evalSHA(script, keys: [], arguments: [])
        } throws: { error in
            guard case .server(let message) = error as? RedisError else { return false }
            return message.hasPrefix("ERR Error compiling script")
        }
    }

    @Test("The database from the URL is selected on connect")
    func selectsDatabase() throws {
        var inDatabase3 = configuration
        inDatabase3.database = 3
        let key = LocalStack.uniqueName("db")
        let database3 = try RedisConnection(configuration: inDatabase3)
        let database0 = try RedisConnection(configuration: configuration)
        try database3.send(RedisCommand("SET", key, "three"))
        #expect(try database3.send(RedisCommand("GET", key)) == .bulk(Array("three".utf8)))
        #expect(try database0.send(RedisCommand("GET", key)) == .null)
        try database3.send(RedisCommand("DEL", key))
    }

    @Test("Sockets have TCP_NODELAY")
    func noDelay() throws {
        #expect(try RedisConnection(configuration: configuration).tcpNoDelay)
    }

    @Test("Connection refused is a typed connectionFailed error")
    func refused() {
        // Port 1 (tcpmux) on loopback: nothing listens there.
        let nowhere = RedisConfiguration(host: "127.0.0.1", port: 1)
        #expect(throws: RedisError.connectionFailed(endpoint: "127.0.0.1:1", reason: "Connection refused")) {
            try RedisConnection(configuration: nowhere)
        }
    }

    @Test("A wrong password is a connectionFailed error naming AUTH")
    func wrongPassword() {
        var withPassword = configuration
        withPassword.password = "wrong"
        #expect {
            try RedisConnection(configuration: withPassword)
        } throws: { error in
            guard case .connectionFailed(configuration.endpoint, let reason) = error as? RedisError else { return false }
            return reason.hasPrefix("AUTH refused: ERR AUTH <password> called without any password configured")
        }
    }

    @Test("A reply slower than the command timeout is a timeout; the next command reconnects")
    func timeoutThenReconnect() throws {
        var impatient = configuration
        impatient.commandTimeout = .milliseconds(200)
        let connection = try RedisConnection(configuration: impatient)
        let key = LocalStack.uniqueName("never-pushed")
        #expect(throws: RedisError.timeout(endpoint: configuration.endpoint, after: .milliseconds(200))) {
            try connection.send(RedisCommand("BLPOP", key, "2"))
        }
        #expect(!connection.isConnected)
        #expect(try connection.send(RedisCommand("PING")) == .status("PONG"))
        #expect(connection.isConnected)
    }

    @Test("A connection killed by the server is connectionLost; the next command reconnects")
    func lostThenReconnect() throws {
        let victim = try RedisConnection(configuration: configuration)
        let killer = try RedisConnection(configuration: configuration)
        let id = try #require(victim.send(RedisCommand("CLIENT", "ID")).integer)
        #expect(try killer.send(RedisCommand("CLIENT", "KILL", "ID", String(id))) == .integer(1))
        #expect {
            try victim.send(RedisCommand("PING"))
        } throws: { error in
            guard case .connectionLost(configuration.endpoint, let reason) = error as? RedisError else { return false }
            return ["Server closed the connection", "Connection reset by peer"].contains(reason)
        }
        #expect(try victim.send(RedisCommand("PING")) == .status("PONG"))
        #expect(try victim.send(RedisCommand("CLIENT", "ID")).integer != id)
    }

    @Test("The pool reuses an idle connection and drops a broken one")
    func pool() throws {
        let pool = RedisConnectionPool(configuration: configuration, maximumIdle: 2)
        let first = try pool.withConnection { connection throws(RedisError) in try connection.send(RedisCommand("CLIENT", "ID")).integer }
        let second = try pool.withConnection { connection throws(RedisError) in try connection.send(RedisCommand("CLIENT", "ID")).integer }
        #expect(first != nil)
        #expect(first == second)
        #expect(pool.idleCount == 1)
        try pool.withConnection { connection in connection.disconnect() }
        #expect(pool.idleCount == 0)
    }
}
