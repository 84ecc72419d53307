import Foundation

/// One raw configuration value before it is typed: a JSON value from the file, or the text of an
/// environment variable (always `.string`, parsed by the same typed readers).
enum ConfigurationValue: Sendable, Equatable, Decodable {
    case string(String)
    case number(Double)
    case bool(Bool)
    case array([ConfigurationValue])
    case object([String: ConfigurationValue])
    case null

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let bool = try? container.decode(Bool.self) {
            self = .bool(bool)
        } else if let number = try? container.decode(Double.self) {
            self = .number(number)
        } else if let string = try? container.decode(String.self) {
            self = .string(string)
        } else if let array = try? container.decode([ConfigurationValue].self) {
            self = .array(array)
        } else {
            self = .object(try container.decode([String: ConfigurationValue].self))
        }
    }

    /// How the value reads in an error message.
    var shown: String {
        switch self {
        case .string(let s): "\"\(s)\""
        case .number(let n): n == n.rounded() && abs(n) < 1e15 ? String(Int64(n)) : String(n)
        case .bool(let b): String(b)
        case .array: "an array"
        case .object: "an object"
        case .null: "null"
        }
    }

    /// Parses a configuration file's text and flattens nested objects into dotted keys
    /// (`{"kafka": {"brokers": …}}` → `kafka.brokers`). Keys in `leafObjects` keep their object value.
    static func flatten(json: Data, leafObjects: Set<String>) throws -> [String: ConfigurationValue] {
        let root = try JSONDecoder().decode(ConfigurationValue.self, from: json)
        guard case .object = root else {
            throw ConfigurationError(key: "(root)", source: "", problem: "expected a JSON object at the top level", fix: "write the settings as {\"kafka\": {\"brokers\": \"…\"}, …}")
        }
        var flat: [String: ConfigurationValue] = [:]
        func walk(_ value: ConfigurationValue, prefix: String) {
            if case .object(let members) = value, !leafObjects.contains(prefix) {
                for (name, member) in members { walk(member, prefix: prefix.isEmpty ? name : "\(prefix).\(name)") }
            } else {
                flat[prefix] = value
            }
        }
        walk(root, prefix: "")
        return flat
    }
}
