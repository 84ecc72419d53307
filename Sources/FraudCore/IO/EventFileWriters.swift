/// Where a stream of events is written: JSON Lines or CSV, to a file or standard output.
public protocol EventFileWriter: AnyObject {
    func write(_ event: PaymentEvent) throws
    /// Flushes and closes the output; errors surface here at the latest.
    func close() throws
}

/// Writes one canonical JSON event per line (docs/formats.md).
public final class JSONLinesEventWriter: EventFileWriter {
    private let output: FileOutput
    private let encoder = EventEncoder()

    public init(output: FileOutput) {
        self.output = output
    }

    public func write(_ event: PaymentEvent) throws {
        try output.append { buffer in
            encoder.append(event, to: &buffer)
            buffer.append(UInt8(ascii: "\n"))
        }
    }

    public func close() throws { try output.close() }
}

/// An event carries a metadata key the CSV header has no column for.
public struct CSVUndeclaredMetadataError: Error, Hashable, Sendable, CustomStringConvertible {
    public var paymentID: String
    public var key: String

    public var description: String {
        "payment \(quotedPreview(paymentID)): metadata key \(quotedPreview(key)) has no column (declare it in the writer's metadataKeys so nothing is dropped)"
    }
}

/// Writes events as RFC 4180 CSV: a header with the JSON field names in canonical order, then
/// `metadata.KEY` columns for the declared keys; fields quoted only when they need it.
public final class CSVEventWriter: EventFileWriter {
    private let output: FileOutput
    private let metadataKeys: [String]
    private static let fields = EventWireField.allCases.filter { $0 != .metadata }

    /// Writes the header immediately. Events whose metadata has other keys are rejected.
    public init(output: FileOutput, metadataKeys: [String] = []) throws {
        self.output = output
        self.metadataKeys = metadataKeys
        try output.append { buffer in
            let names = Self.fields.map(\.nameString) + metadataKeys.map { "metadata.\($0)" }
            for (index, name) in names.enumerated() {
                if index > 0 { buffer.append(UInt8(ascii: ",")) }
                Self.cell(name, to: &buffer)
            }
            buffer.append(contentsOf: [0x0D, 0x0A])
        }
    }

    public func write(_ event: PaymentEvent) throws {
        for key in event.metadata.keys where !metadataKeys.contains(key) {
            throw CSVUndeclaredMetadataError(paymentID: event.paymentID, key: key)
        }
        try output.append { buffer in
            for (index, field) in Self.fields.enumerated() {
                if index > 0 { buffer.append(UInt8(ascii: ",")) }
                Self.cell(Self.text(field, of: event, accessor: Self.accessors[index]), to: &buffer)
            }
            for key in metadataKeys {
                buffer.append(UInt8(ascii: ","))
                Self.cell(event.metadata[key] ?? "", to: &buffer)
            }
            buffer.append(contentsOf: [0x0D, 0x0A])
        }
    }

    public func close() throws { try output.close() }

    /// The shared field accessors of the rules DSL, one per column (nil where CSV needs its own form).
    private static let accessors = fields.map { EventField(name: $0.nameString) }

    private static func text(_ field: EventWireField, of event: PaymentEvent, accessor: EventField?) -> String {
        switch field {
        case .occurredAt: RFC3339.format(event.occurredAt)
        case .label: event.label?.rawValue ?? ""
        default: accessor?.string(of: event) ?? ""
        }
    }

    /// A cell, quoted when it contains a separator, quote or line break (inner quotes doubled).
    static func cell(_ text: String, to out: inout [UInt8]) {
        let needsQuotes = text.utf8.contains { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 0x0A || $0 == 0x0D }
        guard needsQuotes else {
            out.append(contentsOf: text.utf8)
            return
        }
        out.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            if byte == UInt8(ascii: "\"") { out.append(byte) }
            out.append(byte)
        }
        out.append(UInt8(ascii: "\""))
    }
}
