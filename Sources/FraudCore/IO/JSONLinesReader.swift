import Glibc

/// One bad line of an input file: where it is, why it was rejected, and the line itself, so a
/// replay can report it or dead-letter it and nothing is lost.
public struct EventLineError: Error, Hashable, Sendable, CustomStringConvertible {
    public var file: String
    /// 1-based line number (for CSV, the line the record starts on).
    public var line: Int
    public var error: EventDecodingError
    /// The rejected bytes (cut to the reader's line limit for over-long lines).
    public var rawLine: [UInt8]

    public init(file: String, line: Int, error: EventDecodingError, rawLine: [UInt8]) {
        self.file = file
        self.line = line
        self.error = error
        self.rawLine = rawLine
    }

    public var description: String { "\(file):\(line): \(error)" }
}

/// A batch of decoded events with the errors of the lines that did not decode, in file order.
public struct EventBatch: Hashable, Sendable {
    public var events: [PaymentEvent] = []
    /// The line each event came from, parallel to `events` (from a Kafka topic: its offset).
    public var lineNumbers: [Int] = []
    /// From a Kafka topic: the partition each event came from, parallel to `events`, so that
    /// `topic[partition]:offset` names it as `EventLineError` names a record that did not decode.
    /// Empty for a file.
    public var partitions: [Int32] = []
    public var errors: [EventLineError] = []

    public init() {}
    public var isEmpty: Bool { events.isEmpty && errors.isEmpty }
}

/// Reads a JSON Lines file (or standard input for `-`) in constant memory: one fixed chunk
/// buffer, lines that span chunks carried over, `\n` or `\r\n` endings, blank lines skipped
/// (but counted), a last line without a newline accepted.
///
/// Memory is bounded by `chunkBytes + maxLineBytes` whatever the file size; a longer line is
/// reported as an error for that line and skipped, and reading continues.
public final class JSONLinesReader {
    public let fileName: String
    public let maxLineBytes: Int
    private let input: FileInput
    private var storage: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private var start = 0
    private var end = 0
    /// Where the newline search resumes, so a long line is not rescanned after each read.
    private var scanFrom = 0
    private var reachedEOF = false
    private var lineNumber = 0
    /// Bytes read from the input so far (progress and ETA of long replays).
    public private(set) var bytesRead = 0

    public init(path: String, chunkBytes: Int = 1 << 20, maxLineBytes: Int = 1 << 20) throws(FileIOError) {
        input = try FileInput(path: path)
        fileName = input.displayName
        self.maxLineBytes = max(maxLineBytes, 1)
        capacity = max(chunkBytes, 1)
        storage = .allocate(capacity: capacity)
    }

    deinit { storage.deallocate() }

    /// A line as the reader hands it out: its bytes, or the fact that it was too long.
    private enum Line {
        case text(number: Int, UnsafeBufferPointer<UInt8>)
        case tooLong(number: Int, bytes: Int, prefix: [UInt8])
    }

    /// Calls `body` with each non-blank line's 1-based number and bytes (without the line ending).
    /// The bytes are valid only during the call. Throws on an over-long line or a read error.
    public func forEachLine(_ body: (Int, UnsafeBufferPointer<UInt8>) throws -> Void) throws {
        while let line = try nextLine() {
            switch line {
            case .text(let number, let bytes): try body(number, bytes)
            case .tooLong(let number, let bytes, let prefix):
                throw EventLineError(file: fileName, line: number, error: tooLongError(bytes), rawLine: prefix)
            }
        }
    }

    /// Decodes up to `maxLines` non-blank lines; nil once the file is exhausted.
    public func nextBatch(maxLines: Int, decoder: EventDecoder = EventDecoder()) throws(FileIOError) -> EventBatch? {
        var batch = EventBatch()
        batch.events.reserveCapacity(maxLines)
        batch.lineNumbers.reserveCapacity(maxLines)
        var lines = 0
        while lines < maxLines, let line = try nextLine() {
            lines += 1
            switch line {
            case .text(let number, let bytes):
                Self.decode(bytes, number: number, file: fileName, decoder, into: &batch)
            case .tooLong(let number, let bytes, let prefix):
                batch.errors.append(EventLineError(file: fileName, line: number, error: tooLongError(bytes), rawLine: prefix))
            }
        }
        return lines == 0 ? nil : batch
    }

    /// Up to `maxLines` non-blank lines copied out undecoded, so another thread can decode them
    /// (`RawLineBatch.decode`) while this one reads on; nil once the file is exhausted.
    public func nextRawBatch(maxLines: Int) throws(FileIOError) -> RawLineBatch? {
        var batch = RawLineBatch(fileName: fileName)
        batch.bytes.reserveCapacity(maxLines * 384)
        batch.lines.reserveCapacity(maxLines)
        var lines = 0
        while lines < maxLines, let line = try nextLine() {
            lines += 1
            switch line {
            case .text(let number, let bytes):
                let start = batch.bytes.count
                batch.bytes.append(contentsOf: bytes)
                batch.lines.append(RawLineBatch.Line(number: number, start: start, end: batch.bytes.count))
            case .tooLong(let number, let bytes, let prefix):
                batch.lines.append(RawLineBatch.Line(number: number, start: 0, end: 0, error: EventLineError(file: fileName, line: number, error: tooLongError(bytes), rawLine: prefix)))
            }
        }
        return lines == 0 ? nil : batch
    }

    @inline(__always)
    static func decode(_ bytes: UnsafeBufferPointer<UInt8>, number: Int, file: String, _ decoder: EventDecoder, into batch: inout EventBatch) {
        do throws(EventDecodingError) {
            batch.events.append(try decoder.decode(bytes))
            batch.lineNumbers.append(number)
        } catch {
            batch.errors.append(EventLineError(file: file, line: number, error: error, rawLine: Array(bytes)))
        }
    }

    /// Reads the whole file into one batch (tests, rule fixtures, small replays).
    public static func readAll(path: String, decoder: EventDecoder = EventDecoder()) throws(FileIOError) -> EventBatch {
        let reader = try JSONLinesReader(path: path)
        var all = EventBatch()
        while let batch = try reader.nextBatch(maxLines: 4096, decoder: decoder) {
            all.events += batch.events
            all.lineNumbers += batch.lineNumbers
            all.errors += batch.errors
        }
        return all
    }

    private func tooLongError(_ bytes: Int) -> EventDecodingError {
        EventDecodingError(kind: .tooLong, reason: "line is \(bytes) bytes, over the limit of \(maxLineBytes) (one event per line; raise the reader's maxLineBytes if such events are legitimate)")
    }

    // MARK: Line splitting

    private func nextLine() throws(FileIOError) -> Line? {
        while true {
            if let newline = findNewline() {
                let lineStart = start
                start = newline + 1
                scanFrom = start
                lineNumber += 1
                if let line = line(lineStart, newline) { return line }
                continue
            }
            if end - start > maxLineBytes { return try skipOverlongLine() }
            if reachedEOF {
                guard start < end else { return nil }
                let lineStart = start
                start = end
                lineNumber += 1
                return line(lineStart, end)
            }
            try fill()
        }
    }

    private func findNewline() -> Int? {
        guard scanFrom < end else { return nil }
        guard let hit = memchr(storage + scanFrom, 0x0A, end - scanFrom) else {
            scanFrom = end
            return nil
        }
        return storage.distance(to: hit.assumingMemoryBound(to: UInt8.self))
    }

    /// The line without its `\r`, nil if it is blank, or the over-long report.
    private func line(_ from: Int, _ to: Int) -> Line? {
        var to = to
        if to > from, storage[to - 1] == 0x0D { to -= 1 }
        guard to - from <= maxLineBytes else {
            let prefix = Array(UnsafeBufferPointer(start: storage + from, count: min(to - from, 256)))
            return .tooLong(number: lineNumber, bytes: to - from, prefix: prefix)
        }
        var i = from
        while i < to, storage[i] == 0x20 || storage[i] == 0x09 || storage[i] == 0x0D { i += 1 }
        return i == to ? nil : .text(number: lineNumber, UnsafeBufferPointer(start: storage + from, count: to - from))
    }

    /// Discards the rest of a line longer than the limit, keeping a prefix for the error report.
    private func skipOverlongLine() throws(FileIOError) -> Line {
        lineNumber += 1
        let number = lineNumber
        let prefix = Array(UnsafeBufferPointer(start: storage + start, count: min(end - start, 256)))
        var total = end - start
        start = end
        scanFrom = end
        while true {
            if let newline = findNewline() {
                total += newline - start
                start = newline + 1
                scanFrom = start
                return .tooLong(number: number, bytes: total, prefix: prefix)
            }
            total += end - start
            start = end
            if reachedEOF { return .tooLong(number: number, bytes: total, prefix: prefix) }
            try fill()
        }
    }

    /// Moves the unread tail to the front, grows the buffer if a line fills it, and reads more.
    private func fill() throws(FileIOError) {
        if start > 0 {
            let pending = end - start
            if pending > 0 { memmove(storage, storage + start, pending) }
            scanFrom -= start
            start = 0
            end = pending
        }
        if end == capacity {
            let grown = max(min(capacity * 2, maxLineBytes + 1), capacity + 1)
            let newStorage = UnsafeMutablePointer<UInt8>.allocate(capacity: grown)
            newStorage.update(from: storage, count: end)
            storage.deallocate()
            storage = newStorage
            capacity = grown
        }
        let n = try input.read(into: storage + end, count: capacity - end)
        if n == 0 { reachedEOF = true } else { end += n; bytesRead += n }
    }
}
