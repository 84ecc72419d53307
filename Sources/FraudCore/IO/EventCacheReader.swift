import Glibc

/// Reads a pre-decoded event cache (`EventCacheFormat`) back as the same batches, line numbers
/// and errors as `JSONLinesReader.nextBatch(maxLines:)` gives for the input it was built from.
///
/// Opening checks the whole file before any event is handed out: the header against the input
/// (size and modification time), then every block's checksum and the end marker's totals. A stale,
/// truncated or damaged cache is rejected with an `EventCacheError` and nothing is replayed from it.
/// Memory is one block (about 1 MiB) whatever the file size.
public final class EventCacheReader {
    public let path: String
    /// The input's name, used in the errors of rejected lines (as the JSON Lines reader names them).
    public let inputName: String
    public let totalBytes: Int
    /// Bytes of the cache consumed so far (progress and ETA).
    public private(set) var bytesRead = 0
    private let descriptor: Int32
    private var buffer: UnsafeMutableRawPointer
    private var bufferCapacity: Int
    private var blockIndex = 0
    /// File offset of the next block header.
    private var nextBlockOffset = EventCacheFormat.headerBytes
    private var cursor = EventCacheRecord.Cursor(UnsafeRawBufferPointer(start: nil, count: 0))
    private var recordsLeftInBlock = 0
    private var finished = false

    /// Opens and verifies the cache at `path`, built from the input `inputName` described by `source`.
    public init(path: String, inputName: String, source: EventCacheStamp) throws {
        self.path = path
        self.inputName = inputName
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FileIOError(path: path, operation: "open", reason: String(cString: strerror(errno))) }
        descriptor = fd
        var info = stat()
        fstat(fd, &info)
        totalBytes = Int(info.st_size)
        bufferCapacity = EventCacheFormat.targetBlockBytes + 64 * 1024
        buffer = .allocate(byteCount: bufferCapacity, alignment: 8)
        try verifyHeader(source)
        try verifyBlocks()
    }

    deinit {
        close(descriptor)
        buffer.deallocate()
    }

    /// Up to `maxLines` records (events and rejected lines) in input order; nil at the end.
    public func nextBatch(maxLines: Int) throws -> EventBatch? {
        var batch = EventBatch()
        batch.events.reserveCapacity(maxLines)
        batch.lineNumbers.reserveCapacity(maxLines)
        var lines = 0
        while lines < maxLines {
            if recordsLeftInBlock == 0 {
                guard try loadNextBlock() else { break }
                continue
            }
            let record: EventCacheRecord.Decoded
            do throws(EventCacheRecord.CursorError) {
                record = try cursor.next()
            } catch {
                throw EventCacheError(path: path, problem: .corrupt, detail: "block \(blockIndex) does not parse at byte \(error.offset) of its payload: \(error.reason)")
            }
            recordsLeftInBlock -= 1
            lines += 1
            switch record {
            case .event(let event, let line):
                batch.events.append(event)
                batch.lineNumbers.append(line)
            case .error(let line, let error, let rawLine):
                batch.errors.append(EventLineError(file: inputName, line: line, error: error, rawLine: rawLine))
            }
        }
        return lines == 0 ? nil : batch
    }

    // MARK: Blocks

    /// Reads the next block into the buffer; false at the end marker.
    private func loadNextBlock() throws -> Bool {
        guard !finished else { return false }
        if !cursor.isAtEnd {
            throw EventCacheError(path: path, problem: .corrupt, detail: "block \(blockIndex) has bytes after its last record")
        }
        let (count, length) = try blockHeader(at: nextBlockOffset, number: blockIndex + 1)
        if count == EventCacheFormat.endMarker {
            finished = true
            bytesRead = totalBytes
            return false
        }
        try readFully(length, at: nextBlockOffset + EventCacheFormat.blockHeaderBytes)
        blockIndex += 1
        cursor = EventCacheRecord.Cursor(UnsafeRawBufferPointer(start: buffer, count: length))
        recordsLeftInBlock = Int(count)
        nextBlockOffset += EventCacheFormat.blockHeaderBytes + length
        bytesRead = nextBlockOffset
        return true
    }

    /// The header of the `number`th block (1-based, for the error) at `offset`.
    private func blockHeader(at offset: Int, number: Int) throws -> (count: UInt32, length: Int) {
        guard offset + EventCacheFormat.blockHeaderBytes <= totalBytes else {
            throw EventCacheError(path: path, problem: .corrupt, detail: "cut short at byte \(totalBytes): block \(number) or the end marker is missing")
        }
        var header = [UInt8](repeating: 0, count: EventCacheFormat.blockHeaderBytes)
        try header.withUnsafeMutableBytes { try pread(into: $0.baseAddress!, count: $0.count, at: offset) }
        return header.withUnsafeBytes { raw in
            (UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt32.self)),
             Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4, as: UInt32.self))))
        }
    }

    private func storedChecksum(at offset: Int) throws -> UInt64 {
        var value: UInt64 = 0
        try withUnsafeMutableBytes(of: &value) { try pread(into: $0.baseAddress!, count: 8, at: offset + 8) }
        return UInt64(littleEndian: value)
    }

    private func readFully(_ count: Int, at offset: Int) throws {
        if count > bufferCapacity {
            buffer.deallocate()
            bufferCapacity = count
            buffer = .allocate(byteCount: count, alignment: 8)
        }
        try pread(into: buffer, count: count, at: offset)
    }

    private func pread(into destination: UnsafeMutableRawPointer, count: Int, at offset: Int) throws {
        var done = 0
        while done < count {
            let n = Glibc.pread(descriptor, destination + done, count - done, off_t(offset + done))
            if n < 0, errno == EINTR { continue }
            guard n >= 0 else { throw FileIOError(path: path, operation: "read", reason: String(cString: strerror(errno))) }
            guard n > 0 else { throw EventCacheError(path: path, problem: .corrupt, detail: "cut short at byte \(offset + done)") }
            done += n
        }
    }

    // MARK: Verification

    private func verifyHeader(_ source: EventCacheStamp) throws {
        guard totalBytes >= EventCacheFormat.headerBytes else {
            throw EventCacheError(path: path, problem: .notACache, detail: "it is \(totalBytes) bytes, shorter than a cache header (\(EventCacheFormat.headerBytes) bytes)")
        }
        var header = [UInt8](repeating: 0, count: EventCacheFormat.headerBytes)
        try header.withUnsafeMutableBytes { try pread(into: $0.baseAddress!, count: $0.count, at: 0) }
        guard Array(header[0..<8]) == EventCacheFormat.magic else {
            throw EventCacheError(path: path, problem: .notACache, detail: "it does not start with the cache signature WQTICACH")
        }
        func integer<Value: FixedWidthInteger>(_ offset: Int, _: Value.Type) -> Value {
            header.withUnsafeBytes { Value(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: Value.self)) }
        }
        let checksum = header.withUnsafeBytes { EventCacheFormat.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<56])) }
        guard checksum == integer(56, UInt64.self) else {
            throw EventCacheError(path: path, problem: .corrupt, detail: "the header fails its checksum")
        }
        let version = integer(8, UInt32.self)
        guard version == EventCacheFormat.version, integer(12, UInt32.self) == UInt32(EventCacheFormat.headerBytes) else {
            throw EventCacheError(path: path, problem: .stale, detail: "it has format version \(version), this build reads version \(EventCacheFormat.version)")
        }
        guard integer(40, UInt64.self) == EventCacheFormat.schema else {
            throw EventCacheError(path: path, problem: .stale, detail: "it was written by a build with other channel, type or label values")
        }
        let built = EventCacheStamp(bytes: integer(16, UInt64.self), modifiedSeconds: integer(24, Int64.self), modifiedNanoseconds: integer(32, Int64.self))
        guard built == source else {
            throw EventCacheError(path: path, problem: .stale, detail: "it was built from an input of \(built), and --input \"\(inputName)\" is \(source)")
        }
    }

    /// One pass over every block's checksum and the end marker, before any record is read.
    private func verifyBlocks() throws {
        var offset = EventCacheFormat.headerBytes, blocks: UInt64 = 0, records: UInt64 = 0
        while true {
            let (count, length) = try blockHeader(at: offset, number: Int(blocks) + 1)
            let payloadOffset = offset + EventCacheFormat.blockHeaderBytes
            guard payloadOffset + length <= totalBytes else {
                throw EventCacheError(path: path, problem: .corrupt, detail: "block \(blocks + 1) at byte \(offset) claims \(length) bytes, past the end of the file (\(totalBytes) bytes)")
            }
            try readFully(length, at: payloadOffset)
            guard EventCacheFormat.checksum(UnsafeRawBufferPointer(start: buffer, count: length)) == (try storedChecksum(at: offset)) else {
                throw EventCacheError(path: path, problem: .corrupt, detail: "block \(blocks + 1) at byte \(offset) fails its checksum")
            }
            if count == EventCacheFormat.endMarker {
                let totals = (UInt64(littleEndian: buffer.loadUnaligned(as: UInt64.self)), UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
                guard length == 16, totals == (records, blocks), payloadOffset + length == totalBytes else {
                    throw EventCacheError(path: path, problem: .corrupt, detail: "the end marker does not match the blocks before it")
                }
                return
            }
            blocks += 1
            records += UInt64(count)
            offset = payloadOffset + length
        }
    }
}
