import Testing
@testable import Redis

@Suite("Redis URLs")
struct RedisURLTests {
    struct Parsed: Sendable, CustomTestStringConvertible {
        let url: String
        let host: String
        let port: Int
        let username: String?
        let password: String?
        let database: Int
        var testDescription: String { url }
    }

    @Test("Valid URLs parse into host, port, credentials and database", arguments: [
        Parsed(url: "redis://127.0.0.1:16379/0", host: "127.0.0.1", port: 16379, username: nil, password: nil, database: 0),
        Parsed(url: "redis://localhost", host: "localhost", port: 6379, username: nil, password: nil, database: 0),
        Parsed(url: "redis://localhost/", host: "localhost", port: 6379, username: nil, password: nil, database: 0),
        Parsed(url: "REDIS://cache.internal:7000/15", host: "cache.internal", port: 7000, username: nil, password: nil, database: 15),
        Parsed(url: "redis://:s3cret@10.0.0.5:6380/2", host: "10.0.0.5", port: 6380, username: nil, password: "s3cret", database: 2),
        Parsed(url: "redis://engine:pa%3Ass%40word@host:1/0", host: "host", port: 1, username: "engine", password: "pa:ss@word", database: 0),
        Parsed(url: "redis://:p@ss@host", host: "host", port: 6379, username: nil, password: "p@ss", database: 0),
        Parsed(url: "redis://[::1]:6390/4", host: "::1", port: 6390, username: nil, password: nil, database: 4),
        Parsed(url: "redis://[fe80::1]", host: "fe80::1", port: 6379, username: nil, password: nil, database: 0),
    ])
    func parses(_ expected: Parsed) throws {
        let configuration = try RedisConfiguration(url: expected.url)
        #expect(configuration.host == expected.host)
        #expect(configuration.port == expected.port)
        #expect(configuration.username == expected.username)
        #expect(configuration.password == expected.password)
        #expect(configuration.database == expected.database)
    }

    @Test("Invalid URLs are rejected with what is wrong, never echoing the password", arguments: [
        ("127.0.0.1:6379", "'127.0.0.1:6379' has no scheme"),
        ("http://host:6379", "scheme 'http' is not redis"),
        ("rediss://host:6380", "TLS (rediss://) is not supported; use redis:// over loopback or a private network"),
        ("redis://", "the host is empty"),
        ("redis://:pw@:6379", "the host is empty"),
        ("redis://host:0", "port '0' is not a number from 1 to 65535"),
        ("redis://host:65536", "port '65536' is not a number from 1 to 65535"),
        ("redis://host:port", "port 'port' is not a number from 1 to 65535"),
        ("redis://host/db1", "database 'db1' is not a non-negative number"),
        ("redis://host/-1", "database '-1' is not a non-negative number"),
        ("redis://secret@host", "credentials must be ':password@' or 'user:password@'"),
        ("redis://:bad%zzpw@host", "the password has a '%' not followed by two hex digits"),
        ("redis://host?timeout=1", "a query or fragment ('?', '#') is not supported; percent-encode those characters in a password"),
        ("redis://fe80::1:6379", "host 'fe80::1:6379' has more than one ':'; put IPv6 hosts in brackets"),
        ("redis://[::1", "IPv6 host '[::1' lacks ']'"),
        ("redis://[::1]6379", "unexpected '6379' after the IPv6 host"),
    ])
    func rejects(url: String, message: String) {
        #expect(throws: RedisError.invalidURL(message)) { try RedisConfiguration(url: url) }
    }

    @Test("The error text names the expected form")
    func errorText() {
        #expect(RedisError.invalidURL("the host is empty").description
            == "invalid Redis URL: the host is empty; expected redis://[[user]:password@]host[:port][/db]")
    }

    @Test("The redacted URL hides the password and keeps the rest")
    func redacted() throws {
        #expect(try RedisConfiguration(url: "redis://engine:pa%3Ass@host:1/3").redactedURL == "redis://engine:***@host:1/3")
        #expect(try RedisConfiguration(url: "redis://:pw@[::1]").redactedURL == "redis://:***@[::1]:6379/0")
        #expect(try RedisConfiguration(url: "redis://127.0.0.1:16379").redactedURL == "redis://127.0.0.1:16379/0")
    }

    @Test("Timeouts given with the URL are kept")
    func timeouts() throws {
        let configuration = try RedisConfiguration(url: "redis://h", connectTimeout: .milliseconds(200), commandTimeout: .milliseconds(50))
        #expect(configuration.connectTimeout == .milliseconds(200))
        #expect(configuration.commandTimeout == .milliseconds(50))
    }
}
