import Testing
@testable import Redis

@Suite("Redis commands, replies and scripts")
struct RedisCommandTests {
    @Test("Arguments stay binary-safe and in order")
    func binaryArguments() {
        var command = RedisCommand("SET", "key")
        command.append([0x00, 0xFF, 0x0D, 0x0A])
        command.append(Int64(-42))
        command.append("")
        #expect(command.argumentCount == 5)
        #expect(command.name == "SET")
        #expect(command.arguments == [Array("SET".utf8), Array("key".utf8), [0x00, 0xFF, 0x0D, 0x0A], Array("-42".utf8), []])
    }

    @Test("SHA-1 matches the published test vectors", arguments: [
        ("", "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
        ("abc", "a9993e364706816aba3e25717850c26c9cd0d89d"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "84983e441c3bd26ebaae4aa1f95129e5e54670f1"),
        ("The quick brown fox jumps over the lazy dog", "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12"),
    ])
    func sha1(input: String, digest: String) {
        #expect(SHA1.hex(input.utf8) == digest)
    }

    @Test("A script invocation is EVALSHA sha numkeys keys arguments")
    func invocation() {
        let script = RedisScript("return 1")
        #expect(script.sha1 == "e0e1f9fabfc9d4800c877a703b823ac0578ff8db")
        let command = script.invocation(keys: ["k1", "k2"], arguments: ["a"])
        #expect(command.arguments.map { String(decoding: $0, as: UTF8.self) }
            == ["EVALSHA", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "2", "k1", "k2", "a"])
    }

    @Test("Reply accessors read integers, doubles and text the way RESP2 sends them")
    func replies() {
        #expect(RedisReply.bulk(Array("17".utf8)).integer == 17)
        #expect(RedisReply.integer(-3).integer == -3)
        #expect(RedisReply.bulk(Array("2.5".utf8)).double == 2.5)
        #expect(RedisReply.status("OK").string == "OK")
        #expect(RedisReply.null.string == nil)
        #expect(RedisReply.error("ERR x").errorMessage == "ERR x")
        #expect(RedisReply.array([.integer(1), .null]).description == "*2 [:1, (nil)]")
    }

    @Test("Only outages count as unavailable")
    func unavailable() {
        #expect(RedisError.timeout(endpoint: "h:1", after: .seconds(1)).isUnavailable)
        #expect(RedisError.connectionFailed(endpoint: "h:1", reason: "Connection refused").isUnavailable)
        #expect(RedisError.connectionLost(endpoint: "h:1", reason: "EOF").isUnavailable)
        #expect(!RedisError.server("WRONGTYPE").isUnavailable)
    }
}
