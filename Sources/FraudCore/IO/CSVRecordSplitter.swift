/// Splits a byte stream into RFC 4180 records: fields separated by `,`, records by `\n` or
/// `\r\n`, fields optionally in double quotes (which may then contain `,`, newlines and `""` for a
/// quote). Bytes arrive in chunks of any size; a record can span chunks.
///
/// One state machine, one byte at a time, so chunk boundaries need no special cases.
struct CSVRecordSplitter {
    enum State { case fieldStart, unquoted, quoted, afterQuote, skipping }

    /// A finished record: its fields, or why it is malformed.
    enum Record {
        case fields(line: Int, [[UInt8]], raw: [UInt8])
        case malformed(line: Int, reason: String, raw: [UInt8])
    }

    let maxRecordBytes: Int
    private var state = State.fieldStart
    private var field: [UInt8] = []
    private var fields: [[UInt8]] = []
    private var raw: [UInt8] = []
    private var recordBytes = 0
    private var error: String?
    /// Line the current record started on, and the current line (1-based).
    private var recordLine = 1
    private var line = 1
    private var recordHasContent = false

    init(maxRecordBytes: Int) {
        self.maxRecordBytes = maxRecordBytes
    }

    /// Feeds one byte; returns a record when this byte completes one.
    mutating func consume(_ byte: UInt8) -> Record? {
        if raw.count < maxRecordBytes { raw.append(byte) }
        if byte == UInt8(ascii: "\n") { line += 1 }
        recordBytes += 1
        if recordBytes > maxRecordBytes, error == nil, state != .skipping {
            fail("record is over the limit of \(maxRecordBytes) bytes (check for an unclosed quote)")
        }
        switch state {
        case .fieldStart, .unquoted:
            switch byte {
            case UInt8(ascii: "\""):
                if state == .fieldStart {
                    state = .quoted
                    recordHasContent = true
                } else {
                    fail("a quote inside an unquoted field (quote the whole field and double inner quotes: \"a \"\"b\"\"\")")
                }
            case UInt8(ascii: ","):
                recordHasContent = true
                endField()
            case UInt8(ascii: "\n"):
                if state == .unquoted, field.last == UInt8(ascii: "\r") { field.removeLast() }
                return endRecord()
            default:
                if byte != UInt8(ascii: "\r") { recordHasContent = true }
                field.append(byte)
                state = .unquoted
            }
        case .quoted:
            if byte == UInt8(ascii: "\"") { state = .afterQuote } else { field.append(byte) }
        case .afterQuote:
            switch byte {
            case UInt8(ascii: "\""):
                field.append(byte)
                state = .quoted
            case UInt8(ascii: ","): endField()
            case UInt8(ascii: "\n"): return endRecord()
            case UInt8(ascii: "\r"): break
            default: fail("unexpected character after a closing quote (a quoted field ends at ',' or the end of the line)")
            }
        case .skipping:
            if byte == UInt8(ascii: "\n") { return endRecord() }
        }
        return nil
    }

    /// Ends the input: returns the last record if it had no line ending.
    mutating func finish() -> Record? {
        if state == .quoted {
            fail("the file ends inside a quoted field (missing closing quote)")
        }
        guard recordBytes > 0 else { return nil }
        if state == .unquoted, field.last == UInt8(ascii: "\r") { field.removeLast() }
        return endRecord()
    }

    private mutating func fail(_ reason: String) {
        error = reason
        state = .skipping
    }

    private mutating func endField() {
        fields.append(field)
        field.removeAll(keepingCapacity: true)
        state = .fieldStart
    }

    private mutating func endRecord() -> Record? {
        defer {
            fields.removeAll(keepingCapacity: true)
            field.removeAll(keepingCapacity: true)
            raw.removeAll(keepingCapacity: true)
            recordBytes = 0
            error = nil
            state = .fieldStart
            recordHasContent = false
            recordLine = line
        }
        if raw.last == UInt8(ascii: "\n") { raw.removeLast() }
        if raw.last == UInt8(ascii: "\r") { raw.removeLast() }
        if let error { return .malformed(line: recordLine, reason: error, raw: raw) }
        guard recordHasContent else { return nil } // a blank line
        endField()
        return .fields(line: recordLine, fields, raw: raw)
    }
}
