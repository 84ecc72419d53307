import Foundation

/// The machine-readable form of summaries and comparisons: JSON with sorted keys and a trailing
/// newline, so the same replay writes byte-identical files.
public enum SummaryJSON {
    public static func encode(_ value: some Encodable) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return Array(try encoder.encode(value)) + [0x0A]
    }

    public static func decode<Value: Decodable>(_ type: Value.Type, from bytes: [UInt8]) throws -> Value {
        try JSONDecoder().decode(type, from: Data(bytes))
    }
}

/// A baseline/candidate replay: each side's summary and what changed between them.
public struct ReplayComparison: Codable, Hashable, Sendable {
    public var baseline: ReplaySummary
    public var candidate: ReplaySummary
    public var diff: DecisionDiff

    public init(baseline: ReplaySummary, candidate: ReplaySummary, diff: DecisionDiff) {
        self.baseline = baseline
        self.candidate = candidate
        self.diff = diff
    }
}
