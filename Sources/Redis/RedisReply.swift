/// One reply of the Redis protocol (RESP2, which is what Debian 12's hiredis 0.14 speaks: there
/// doubles arrive as bulk strings, read them with `double`). Bulk strings are raw bytes, so
/// binary values survive unchanged.
public enum RedisReply: Sendable, Hashable {
    case status(String)
    case error(String)
    case integer(Int64)
    case bulk([UInt8])
    case array([RedisReply])
    /// The null bulk string or null array (`GET` of a missing key).
    case null

    /// The bulk string as UTF-8 text, or a status line; nil for other replies.
    public var string: String? {
        switch self {
        case .bulk(let bytes): String(decoding: bytes, as: UTF8.self)
        case .status(let text): text
        default: nil
        }
    }

    /// An integer reply, or a bulk string holding a decimal integer (what `GET` of a counter
    /// returns).
    public var integer: Int64? {
        switch self {
        case .integer(let value): value
        case .bulk(let bytes): Int64(String(decoding: bytes, as: UTF8.self))
        default: nil
        }
    }

    /// A bulk string holding a number (`INCRBYFLOAT`, `ZSCORE` in RESP2), or an integer.
    public var double: Double? {
        switch self {
        case .integer(let value): Double(value)
        case .bulk(let bytes): Double(String(decoding: bytes, as: UTF8.self))
        default: nil
        }
    }

    public var array: [RedisReply]? {
        if case .array(let elements) = self { elements } else { nil }
    }

    /// The message of an error reply.
    public var errorMessage: String? {
        if case .error(let message) = self { message } else { nil }
    }
}

extension RedisReply: CustomStringConvertible {
    public var description: String {
        switch self {
        case .status(let text): "+\(text)"
        case .error(let message): "-\(message)"
        case .integer(let value): ":\(value)"
        case .bulk(let bytes): "$\(bytes.count) \(String(decoding: bytes.prefix(64), as: UTF8.self).debugDescription)"
        case .array(let elements): "*\(elements.count) [\(elements.map(\.description).joined(separator: ", "))]"
        case .null: "(nil)"
        }
    }
}
