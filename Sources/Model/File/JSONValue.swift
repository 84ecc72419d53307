import Foundation

/// A parsed JSON document, kept untyped so the model file's validator can name the exact key
/// and index that is wrong instead of reporting a generic decoding failure.
enum JSONValue: Hashable, Sendable, Decodable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try JSONValue.number(container, at: decoder.codingPath) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try JSONValue.array(container) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    /// A number that does not fit a Double (`1e999`): Foundation's error names neither the
    /// number's key nor, in its description, anything but the text.
    struct NonFiniteNumber: Error {
        var path: [any CodingKey]
        var text: String

        /// `features[2].weight`
        var keyPath: String {
            var out = ""
            for key in path {
                if let index = key.intValue { out += "[\(index)]" } else { out += (out.isEmpty ? "" : ".") + key.stringValue }
            }
            return out
        }
    }

    /// The value as a Double; nil when it is not a number; `NonFiniteNumber` when it is one too large.
    private static func number(_ container: any SingleValueDecodingContainer, at path: [any CodingKey]) throws -> Double? {
        do {
            return try container.decode(Double.self)
        } catch is DecodingError {
            return nil
        } catch {
            // Foundation's `numberIsNotRepresentableInSwift(parsed: "1e999")`.
            let description = "\(error)"
            var text = "the number"
            if let start = description.range(of: "parsed: \""), let end = description[start.upperBound...].firstIndex(of: "\"") {
                text = String(description[start.upperBound..<end])
            }
            throw NonFiniteNumber(path: path, text: text)
        }
    }

    /// The value as an array; nil when it is not one (a number too large inside it is still an error).
    private static func array(_ container: any SingleValueDecodingContainer) throws -> [JSONValue]? {
        do {
            return try container.decode([JSONValue].self)
        } catch let error as NonFiniteNumber {
            throw error
        } catch {
            return nil
        }
    }

    /// What a value is, for error messages: `a string`, `an array`, …
    var kindDescription: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}
