/// Where and how to connect to Redis. Build it from a URL (`WAQITI_REDIS_URL`) with
/// `init(url:)`, or field by field.
public struct RedisConfiguration: Sendable, Equatable {
    public var host: String
    public var port: Int
    /// Redis 6 ACL user; nil authenticates as `default` (or not at all without a password).
    public var username: String?
    public var password: String?
    public var database: Int
    /// Upper bound for establishing the TCP connection.
    public var connectTimeout: Duration
    /// Upper bound for each send and each reply; on expiry the connection is dropped.
    public var commandTimeout: Duration

    public init(
        host: String = "127.0.0.1", port: Int = 6379, username: String? = nil, password: String? = nil,
        database: Int = 0, connectTimeout: Duration = .seconds(1), commandTimeout: Duration = .seconds(1)
    ) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
    }

    /// Parses `redis://[[user]:password@]host[:port][/db]`; user and password may be
    /// percent-encoded, an IPv6 host goes in brackets. TLS (`rediss://`) is not supported.
    public init(url: String, connectTimeout: Duration = .seconds(1), commandTimeout: Duration = .seconds(1)) throws(RedisError) {
        self = try RedisURLParser.parse(url)
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
    }

    /// `host:port` as it appears in errors and logs (IPv6 in brackets).
    public var endpoint: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// The URL with the password replaced, safe to print at start-up.
    public var redactedURL: String {
        let credentials = switch (username, password) {
        case (nil, nil): ""
        case (let user?, nil): "\(user)@"
        case (let user, _?): "\(user ?? ""):***@"
        }
        return "redis://\(credentials)\(endpoint)/\(database)"
    }
}

/// The URL grammar of `RedisConfiguration.init(url:)`, kept apart so each rule has one place.
enum RedisURLParser {
    static func parse(_ url: String) throws(RedisError) -> RedisConfiguration {
        guard let schemeEnd = url.firstRange(of: "://") else {
            throw .invalidURL("'\(redact(url))' has no scheme")
        }
        let scheme = url[..<schemeEnd.lowerBound].lowercased()
        if scheme == "rediss" {
            throw .invalidURL("TLS (rediss://) is not supported; use redis:// over loopback or a private network")
        }
        guard scheme == "redis" else {
            throw .invalidURL("scheme '\(scheme)' is not redis")
        }
        let rest = url[schemeEnd.upperBound...]
        if rest.contains(where: { $0 == "?" || $0 == "#" }) {
            throw .invalidURL("a query or fragment ('?', '#') is not supported; percent-encode those characters in a password")
        }
        let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        let path = rest[authorityEnd...]

        var configuration = RedisConfiguration()
        var hostPort = authority
        if let at = authority.lastIndex(of: "@") {
            let userInfo = authority[..<at]
            hostPort = authority[authority.index(after: at)...]
            guard let colon = userInfo.firstIndex(of: ":") else {
                throw .invalidURL("credentials must be ':password@' or 'user:password@'")
            }
            let user = try percentDecoded(userInfo[..<colon], part: "user")
            configuration.username = user.isEmpty ? nil : user
            configuration.password = try percentDecoded(userInfo[userInfo.index(after: colon)...], part: "password")
        }
        (configuration.host, configuration.port) = try parseHostPort(hostPort)
        configuration.database = try parseDatabase(path)
        return configuration
    }

    private static func parseHostPort(_ text: Substring) throws(RedisError) -> (String, Int) {
        var host: Substring
        var portText: Substring?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw .invalidURL("IPv6 host '\(text)' lacks ']'") }
            host = text[text.index(after: text.startIndex)..<close]
            let after = text[text.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw .invalidURL("unexpected '\(after)' after the IPv6 host") }
                portText = after.dropFirst()
            }
        } else {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count <= 2 else { throw .invalidURL("host '\(text)' has more than one ':'; put IPv6 hosts in brackets") }
            host = parts[0]
            portText = parts.count == 2 ? parts[1] : nil
        }
        guard !host.isEmpty else { throw .invalidURL("the host is empty") }
        guard let portText else { return (String(host), 6379) }
        guard let port = Int(portText), (1...65535).contains(port) else {
            throw .invalidURL("port '\(portText)' is not a number from 1 to 65535")
        }
        return (String(host), port)
    }

    private static func parseDatabase(_ path: Substring) throws(RedisError) -> Int {
        let digits = path.drop(while: { $0 == "/" })
        if digits.isEmpty { return 0 }
        guard digits.allSatisfy(\.isASCII), let database = Int(digits), database >= 0 else {
            throw .invalidURL("database '\(digits)' is not a non-negative number")
        }
        return database
    }

    private static func percentDecoded(_ text: Substring, part: String) throws(RedisError) -> String {
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                throw .invalidURL("the \(part) has a '%' not followed by two hex digits")
            }
            bytes.append(high << 4 | low)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// Never echo a password in an error: drop everything up to the last '@'.
    private static func redact(_ url: String) -> String {
        guard let at = url.lastIndex(of: "@") else { return url }
        return "***" + url[at...]
    }
}
