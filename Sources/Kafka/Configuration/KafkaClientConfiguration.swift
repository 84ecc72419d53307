/// Settings shared by producers and consumers. Each typed field maps to one librdkafka key and
/// is validated before librdkafka sees it; `additionalProperties` is the escape hatch for keys
/// that have no field (it may not override a key that a field owns).
public struct KafkaClientConfiguration: Sendable, Equatable {
    /// `bootstrap.servers`: one or more `host:port` (IPv6 as `[addr]:port`).
    public var bootstrapServers: [String]
    /// `client.id`: shows up in broker logs and quotas.
    public var clientID: String
    /// `socket.timeout.ms`: network request timeout.
    public var socketTimeout: Duration = .seconds(10)
    /// `debug`: librdkafka debug contexts (`"broker,protocol"`), empty for none.
    public var debugContexts: String = ""
    /// Raw librdkafka properties, applied after the typed ones.
    public var additionalProperties: [String: String] = [:]

    public init(bootstrapServers: [String], clientID: String) {
        self.bootstrapServers = bootstrapServers
        self.clientID = clientID
    }

    /// Parses `WAQITI_KAFKA_BROKERS`-style text: comma-separated `host:port`.
    public init(brokers: String, clientID: String) {
        self.init(bootstrapServers: brokers.split(separator: ",").map { $0.trimmingSpaces }, clientID: clientID)
    }

    func properties() throws(KafkaError) -> [(String, String)] {
        guard !bootstrapServers.isEmpty else {
            throw .invalidConfiguration(key: "bootstrap.servers", reason: "no broker given; set e.g. WAQITI_KAFKA_BROKERS=127.0.0.1:19092")
        }
        for server in bootstrapServers where !Self.isHostPort(server) {
            throw .invalidConfiguration(key: "bootstrap.servers", reason: "'\(server)' is not host:port with a port from 1 to 65535")
        }
        guard !clientID.isEmpty, clientID.allSatisfy({ $0.isASCII && !$0.isWhitespace }) else {
            throw .invalidConfiguration(key: "client.id", reason: "'\(clientID)' must be non-empty ASCII without spaces")
        }
        return [
            ("bootstrap.servers", bootstrapServers.joined(separator: ",")),
            ("client.id", clientID),
            ("socket.timeout.ms", try milliseconds(socketTimeout, key: "socket.timeout.ms", in: 10...300_000)),
        ] + (debugContexts.isEmpty ? [] : [("debug", debugContexts)])
    }

    static func isHostPort(_ text: String) -> Bool {
        guard let colon = text.lastIndex(of: ":") else { return false }
        let host = text[..<colon]
        guard let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port), !host.isEmpty else { return false }
        if host.hasPrefix("[") { return host.hasSuffix("]") && host.count > 2 }
        return !host.contains(":") && !host.contains(where: \.isWhitespace)
    }
}

/// Merges the escape-hatch properties after the typed ones, refusing to override a typed key.
func merged(_ typed: [(String, String)], additional: [String: String]) throws(KafkaError) -> [(String, String)] {
    let typedKeys = Set(typed.map(\.0))
    var result = typed
    for (key, value) in additional.sorted(by: { $0.key < $1.key }) {
        guard !typedKeys.contains(key) else {
            throw .invalidConfiguration(key: key, reason: "set through its typed field, not additionalProperties")
        }
        guard !key.isEmpty, !value.isEmpty else {
            throw .invalidConfiguration(key: key, reason: "keys and values in additionalProperties must be non-empty")
        }
        result.append((key, value))
    }
    return result
}

/// A duration as whole milliseconds in `range`, or a configuration error naming `key`.
func milliseconds(_ duration: Duration, key: String, in range: ClosedRange<Int64>) throws(KafkaError) -> String {
    let value = duration.milliseconds
    guard range.contains(value) else {
        throw .invalidConfiguration(key: key, reason: "\(value) ms is outside \(range.lowerBound)...\(range.upperBound) ms")
    }
    return String(value)
}

extension Substring {
    var trimmingSpaces: String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}
