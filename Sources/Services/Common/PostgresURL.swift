/// A `postgres://user:password@host:port/database` URL, parsed and validated up front so that
/// a typo fails at start-up with the offending part named rather than at the first query.
public struct PostgresURL: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String

    public init(host: String, port: Int = 5432, username: String, password: String? = nil, database: String) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
    }

    public init(parsing text: String) throws(ConfigurationError) {
        func fail(_ why: String) -> ConfigurationError {
            ConfigurationError(key: "postgres_url", message: "\(why) in '\(Self.redacting(text))'; expected postgres://user[:password]@host[:port]/database")
        }
        var rest = Substring(text)
        guard let schemeEnd = rest.range(of: "://") else { throw fail("missing scheme") }
        guard ["postgres", "postgresql"].contains(rest[..<schemeEnd.lowerBound]) else { throw fail("scheme is not postgres") }
        rest = rest[schemeEnd.upperBound...]
        if let query = rest.firstIndex(of: "?") { rest = rest[..<query] }
        guard let slash = rest.firstIndex(of: "/") else { throw fail("missing /database") }
        let database = String(rest[rest.index(after: slash)...])
        guard !database.isEmpty else { throw fail("empty database name") }
        var authority = rest[..<slash]
        var username = "postgres"
        var password: String?
        if let at = authority.lastIndex(of: "@") {
            let credentials = authority[..<at]
            authority = authority[authority.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                username = String(credentials[..<colon])
                password = String(credentials[credentials.index(after: colon)...]).removingPercentEncoding
            } else {
                username = String(credentials)
            }
        }
        var port = 5432
        var host = authority
        if let colon = authority.lastIndex(of: ":") {
            guard let parsed = Int(authority[authority.index(after: colon)...]), (1...65535).contains(parsed) else {
                throw fail("invalid port")
            }
            port = parsed
            host = authority[..<colon]
        }
        guard !host.isEmpty else { throw fail("empty host") }
        self.init(host: String(host), port: port, username: username, password: password, database: database)
    }

    /// The URL with its password replaced, for logs and the start-up configuration print.
    public var description: String {
        "postgres://\(username)\(password == nil ? "" : ":***")@\(host):\(port)/\(database)"
    }

    static func redacting(_ text: String) -> String {
        guard let at = text.lastIndex(of: "@"), let scheme = text.range(of: "://"),
              let colon = text[scheme.upperBound..<at].firstIndex(of: ":") else { return text }
        return String(text[..<text.index(after: colon)]) + "***" + String(text[at...])
    }
}

extension String {
    /// Percent-decoding without Foundation, for passwords in connection URLs.
    var removingPercentEncoding: String? {
        var bytes: [UInt8] = []
        var iterator = utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else { bytes.append(byte); continue }
            guard let high = iterator.next(), let low = iterator.next(),
                  let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16) else { return nil }
            bytes.append(value)
        }
        return String(validating: bytes, as: UTF8.self)
    }
}
