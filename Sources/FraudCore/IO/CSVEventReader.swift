/// A CSV file whose header cannot describe payment events.
public struct CSVHeaderError: Error, Hashable, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var reason: String

    public var description: String { "\(file):\(line): \(reason)" }
}

/// Reads payment events from CSV (RFC 4180) in constant memory, file or standard input (`-`).
///
/// The header row names the columns with the JSON field names (`payment_id`, `amount_minor`, …) in
/// any order; `metadata.KEY` columns become metadata entries; other columns are ignored, as unknown
/// JSON fields are. An empty cell is an absent value: optional fields and metadata are then left
/// out, required fields are an error. `mcc` may lose its leading zeros in spreadsheets, so 1-4
/// digits are accepted and padded. Values are validated exactly as in JSON (docs/formats.md).
public final class CSVEventReader {
    public let fileName: String
    /// Bytes read from the input so far (progress and ETA of long replays).
    public private(set) var bytesRead = 0
    private let input: FileInput
    private let chunk: UnsafeMutableBufferPointer<UInt8>
    private var chunkEnd = 0
    private var chunkPosition = 0
    private var reachedEOF = false
    private var splitter: CSVRecordSplitter
    private let limits: EventDecodingLimits

    private enum Column {
        case field(EventWireField)
        case metadata(String)
        case ignored
    }
    private var columns: [Column] = []

    /// Opens the file and reads its header. Throws `FileIOError` or `CSVHeaderError`.
    public init(path: String, chunkBytes: Int = 1 << 20, maxRecordBytes: Int = 1 << 20, limits: EventDecodingLimits = .default) throws {
        input = try FileInput(path: path)
        fileName = input.displayName
        chunk = .allocate(capacity: max(chunkBytes, 1))
        splitter = CSVRecordSplitter(maxRecordBytes: maxRecordBytes)
        self.limits = limits
        try readHeader()
    }

    deinit { chunk.deallocate() }

    private func readHeader() throws {
        guard let record = try nextRecord() else {
            throw CSVHeaderError(file: fileName, line: 1, reason: "the file is empty (the first row must name the columns: payment_id,occurred_at,…)")
        }
        let cells: [[UInt8]]
        let line: Int
        switch record {
        case .malformed(let l, let reason, _): throw CSVHeaderError(file: fileName, line: l, reason: "header row: \(reason)")
        case .fields(let l, let fields, _): (line, cells) = (l, fields)
        }
        var present: Set<String> = []
        for (index, var cell) in cells.enumerated() {
            // Spreadsheet exports often start with a UTF-8 byte order mark.
            if index == 0, cell.starts(with: [0xEF, 0xBB, 0xBF]) { cell.removeFirst(3) }
            let name = String(decoding: cell, as: UTF8.self).trimmingSpaces
            guard present.insert(name).inserted else {
                throw CSVHeaderError(file: fileName, line: line, reason: "column \"\(name)\" appears twice in the header")
            }
            if name.hasPrefix("metadata."), name.count > "metadata.".count {
                columns.append(.metadata(String(name.dropFirst("metadata.".count))))
            } else if name == "metadata" {
                throw CSVHeaderError(file: fileName, line: line, reason: "column \"metadata\" cannot hold a map in CSV; use one column per key, named metadata.KEY")
            } else if let field = EventWireField.allCases.first(where: { $0.nameString == name }) {
                columns.append(.field(field))
            } else {
                columns.append(.ignored)
            }
        }
        let missing = EventWireField.allCases.filter { $0.isRequired && !present.contains($0.nameString) }
        guard missing.isEmpty else {
            let names = missing.map { "\"\($0.nameString)\"" }.joined(separator: ", ")
            throw CSVHeaderError(file: fileName, line: line, reason: "the header lacks the required column\(missing.count == 1 ? "" : "s") \(names) (see docs/formats.md)")
        }
    }

    /// Decodes up to `maxRecords` records; nil once the file is exhausted.
    public func nextBatch(maxRecords: Int) throws(FileIOError) -> EventBatch? {
        var batch = EventBatch()
        var count = 0
        while count < maxRecords, let record = try nextRecord() {
            count += 1
            switch record {
            case .malformed(let line, let reason, let raw):
                let error = EventDecodingError(kind: .syntax, reason: "malformed CSV: \(reason)")
                batch.errors.append(EventLineError(file: fileName, line: line, error: error, rawLine: raw))
            case .fields(let line, let cells, let raw):
                do throws(EventDecodingError) {
                    batch.events.append(try event(from: cells))
                    batch.lineNumbers.append(line)
                } catch {
                    batch.errors.append(EventLineError(file: fileName, line: line, error: error, rawLine: raw))
                }
            }
        }
        return count == 0 ? nil : batch
    }

    /// Reads the whole file into one batch (tests, fixtures, small files).
    public static func readAll(path: String) throws -> EventBatch {
        let reader = try CSVEventReader(path: path)
        var all = EventBatch()
        while let batch = try reader.nextBatch(maxRecords: 4096) {
            all.events += batch.events
            all.lineNumbers += batch.lineNumbers
            all.errors += batch.errors
        }
        return all
    }

    private func event(from cells: [[UInt8]]) throws(EventDecodingError) -> PaymentEvent {
        var paymentID: String?
        var currency: Currency?
        for (column, cell) in zip(columns, cells) {
            guard case .field(let field) = column else { continue }
            if field == .paymentID, !cell.isEmpty { paymentID = String(decoding: cell, as: UTF8.self) }
            if field == .currency, cell.count == 3 { currency = Currency(asciiBytes: cell[0], cell[1], cell[2]) }
        }
        guard cells.count == columns.count else {
            throw EventDecodingError(kind: .syntax, paymentID: paymentID, reason: "malformed CSV: expected \(columns.count) fields as in the header, found \(cells.count)")
        }
        do throws(WireError) {
            var draft = EventDraft(limits: limits)
            for (column, cell) in zip(columns, cells) {
                try cell.withUnsafeBufferPointer { bytes throws(WireError) in
                    try set(column, bytes, &draft)
                }
            }
            return try draft.build()
        } catch {
            var error = error
            if error.kind == .floatAmount, let text = error.valueText {
                error.reason = EventDraft.floatAmountReason(text, currency: currency)
            }
            throw EventDecodingError(error, paymentID: paymentID)
        }
    }

    private func set(_ column: Column, _ bytes: UnsafeBufferPointer<UInt8>, _ draft: inout EventDraft) throws(WireError) {
        let isASCII = bytes.allSatisfy { $0 < 0x80 }
        switch column {
        case .ignored: return
        case .metadata(let key):
            guard !bytes.isEmpty else { return }
            try draft.setMetadata(key: key, value: try draft.checkedString("metadata.\(key)", bytes, isASCII))
        case .field(let field):
            if bytes.isEmpty, !field.isRequired { return }
            switch field {
            case .amountMinor:
                var scanner = JSONScanner(bytes)
                let token: JSONScanner.NumberToken
                do throws(WireError) {
                    token = try scanner.scanNumber()
                    guard scanner.isAtEnd else { throw WireError(.syntax, "") }
                } catch {
                    throw WireError(.wrongType, field: "amount_minor", "expected an integer number of minor units, got \(quotedPreview(bytes))")
                }
                try draft.setAmount(token, in: scanner)
            case .mcc where (1...3).contains(bytes.count) && bytes.allSatisfy(isDigit):
                let padded = Array(repeating: UInt8(ascii: "0"), count: 4 - bytes.count) + Array(bytes)
                try padded.withUnsafeBufferPointer { p throws(WireError) in try draft.setText(.mcc, p, isASCII: true) }
            default:
                try draft.setText(field, bytes, isASCII: isASCII)
            }
        }
    }

    private func nextRecord() throws(FileIOError) -> CSVRecordSplitter.Record? {
        while true {
            while chunkPosition < chunkEnd {
                let byte = chunk[chunkPosition]
                chunkPosition += 1
                if let record = splitter.consume(byte) { return record }
            }
            if reachedEOF { return splitter.finish() }
            let n = try input.read(into: chunk.baseAddress!, count: chunk.count)
            chunkPosition = 0
            chunkEnd = n
            bytesRead += n
            if n == 0 {
                reachedEOF = true
                // finish() ends the last record once; later calls find nothing left.
                return splitter.finish()
            }
        }
    }
}

fileprivate extension String {
    /// The string without leading and trailing spaces and tabs (header cells written by hand).
    var trimmingSpaces: String {
        var scalars = Substring(self)
        while let first = scalars.first, first == " " || first == "\t" { scalars.removeFirst() }
        while let last = scalars.last, last == " " || last == "\t" { scalars.removeLast() }
        return String(scalars)
    }
}
