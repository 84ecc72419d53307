/// What went wrong talking to Redis, typed so that callers can act on it: the feature store falls
/// back to local windows on `connectionFailed`, `connectionLost` and `timeout`, while `server`
/// (an error reply such as `WRONGTYPE`) is a bug in the command, not an outage.
public enum RedisError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The URL could not be parsed; the message says which part and never contains the password.
    case invalidURL(String)
    /// No connection could be made (refused, unreachable, connect timeout, AUTH/SELECT refused).
    case connectionFailed(endpoint: String, reason: String)
    /// An established connection broke (EOF, reset, protocol error). The next call reconnects.
    case connectionLost(endpoint: String, reason: String)
    /// No reply within the command timeout. The connection is dropped (replies may still be in
    /// flight) and the next call reconnects.
    case timeout(endpoint: String, after: Duration)
    /// Redis answered with an error reply (`-ERR …`, `-WRONGTYPE …`, `-NOSCRIPT …`).
    case server(String)
    /// A reply did not have the shape the command promises.
    case unexpectedReply(command: String, reply: String)
    /// Not sent: Redis was found unavailable (`reason`) while this call waited for its turn
    /// (`RedisOutageMark`).
    case notSent(reason: String)

    /// True for the failures where a caller should degrade rather than crash: the server is
    /// unreachable or too slow, not wrong.
    public var isUnavailable: Bool {
        switch self {
        case .connectionFailed, .connectionLost, .timeout, .notSent: true
        case .invalidURL, .server, .unexpectedReply: false
        }
    }

    public var description: String {
        switch self {
        case .invalidURL(let message):
            "invalid Redis URL: \(message); expected redis://[[user]:password@]host[:port][/db]"
        case .connectionFailed(let endpoint, let reason):
            "cannot connect to Redis at \(endpoint): \(reason); check that redis-server runs there (deploy/local/start.sh redis)"
        case .connectionLost(let endpoint, let reason):
            "lost the connection to Redis at \(endpoint): \(reason); the next command reconnects"
        case .timeout(let endpoint, let after):
            "Redis at \(endpoint) did not reply within \(after); the connection was dropped and the next command reconnects"
        case .server(let message):
            "Redis replied with an error: \(message)"
        case .unexpectedReply(let command, let reply):
            "unexpected reply to \(command): \(reply)"
        case .notSent(let reason):
            RedisOutageMark.notSentDescription(reason)
        }
    }
}
