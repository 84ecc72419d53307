import Foundation
import FraudCore

/// Reads one JSON object of the model file, turning every missing, mistyped or out-of-range value
/// into a `ModelFileError` that names its full key path.
struct JSONObjectReader {
    let file: String
    /// Key path of this object, `""` for the root, `features[2]` for a feature.
    let path: String
    let fields: [String: JSONValue]

    init(file: String, path: String, value: JSONValue) throws(ModelFileError) {
        guard case .object(let fields) = value else {
            throw ModelFileError(file: file, key: path.isEmpty ? nil : path, message: "expected an object, got \(value.kindDescription)")
        }
        self.file = file
        self.path = path
        self.fields = fields
    }

    /// Parses a whole document whose top level must be an object.
    static func root(_ data: Data, file: String) throws(ModelFileError) -> JSONObjectReader {
        let root: JSONValue
        do {
            root = try JSONDecoder().decode(JSONValue.self, from: data)
        } catch let error as JSONValue.NonFiniteNumber {
            throw ModelFileError(file: file, key: error.keyPath.isEmpty ? nil : error.keyPath,
                                 message: "\(error.text) is not a finite number (it does not fit a 64-bit float); model values must be finite")
        } catch {
            throw ModelFileError(file: file, key: nil, message: "not valid JSON: \(jsonSyntaxMessage(error))")
        }
        guard case .object = root else {
            throw ModelFileError(file: file, key: nil, message: "expected a JSON object at the top level, got \(root.kindDescription)")
        }
        return try JSONObjectReader(file: file, path: "", value: root)
    }

    /// Foundation's decoding error carries the parser's message (with its line and column) in
    /// the underlying error; the outer description is generic.
    private static func jsonSyntaxMessage(_ error: any Error) -> String {
        if case DecodingError.dataCorrupted(let context) = error {
            if let underlying = context.underlyingError { return "\(underlying)" }
            return context.debugDescription
        }
        return "\(error)"
    }

    func keyPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func error(_ key: String, _ message: String) -> ModelFileError {
        ModelFileError(file: file, key: keyPath(key), message: message)
    }

    /// Rejects keys the format does not define, so a typo (`wieght`) is an error, not a silent default.
    func rejectUnknownKeys(allowed: Set<String>) throws(ModelFileError) {
        if let unknown = fields.keys.filter({ !allowed.contains($0) }).sorted().first {
            let expected = allowed.sorted().joined(separator: ", ")
            throw error(unknown, "unknown key; expected one of: \(expected)")
        }
    }

    func value(_ key: String) throws(ModelFileError) -> JSONValue {
        guard let value = fields[key] else { throw error(key, "missing required key") }
        return value
    }

    func string(_ key: String) throws(ModelFileError) -> String {
        let value = try value(key)
        guard case .string(let text) = value else { throw error(key, "expected a string, got \(value.kindDescription)") }
        guard !text.isEmpty else { throw error(key, "must not be empty") }
        return text
    }

    func number(_ key: String) throws(ModelFileError) -> Double {
        let value = try value(key)
        guard case .number(let number) = value else { throw error(key, "expected a number, got \(value.kindDescription)") }
        return number
    }

    func finite(_ key: String) throws(ModelFileError) -> Double {
        let number = try number(key)
        guard number.isFinite else { throw error(key, "must be a finite number, got \(number)") }
        return number
    }

    func nonNegativeInteger(_ key: String) throws(ModelFileError) -> Int {
        let number = try number(key)
        guard number >= 0, number <= 9_007_199_254_740_992, number.rounded() == number else {
            throw error(key, "expected a non-negative integer, got \(number)")
        }
        return Int(number)
    }

    func probability(_ key: String) throws(ModelFileError) -> Double {
        let number = try number(key)
        guard number >= 0, number <= 1 else { throw error(key, "expected a number in 0...1, got \(number)") }
        return number
    }

    func time(_ key: String) throws(ModelFileError) -> EventTime {
        let text = try string(key)
        guard let time = RFC3339.parse(text) else {
            throw error(key, "expected an RFC 3339 time such as 2026-11-29T08:15:30.123Z, got \"\(text)\"")
        }
        return time
    }

    func array(_ key: String) throws(ModelFileError) -> [JSONValue] {
        let value = try value(key)
        guard case .array(let items) = value else { throw error(key, "expected an array, got \(value.kindDescription)") }
        return items
    }

    func classWeighting(_ key: String) throws(ModelFileError) -> ClassWeighting {
        let text = try string(key)
        guard let weighting = ClassWeighting(rawValue: text) else {
            throw error(key, "expected \"none\" or \"balanced\", got \"\(text)\"")
        }
        return weighting
    }

    func nonNegativeFinite(_ key: String) throws(ModelFileError) -> Double {
        let number = try finite(key)
        guard number >= 0 else { throw error(key, "must be 0 or more, got \(number)") }
        return number
    }

    func object(_ key: String) throws(ModelFileError) -> JSONObjectReader {
        try JSONObjectReader(file: file, path: keyPath(key), value: value(key))
    }
}
