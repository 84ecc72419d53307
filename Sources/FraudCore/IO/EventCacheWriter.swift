/// Writes the batches a reader decoded into a pre-decoded cache (`EventCacheFormat`), so the next
/// replay of the same input skips JSON decoding.
///
/// The cache is written through an atomic `FileOutput` (a hidden temporary file beside `path`,
/// renamed into place by `finish()`), so an interrupted replay never leaves a half cache behind
/// that a later run would trust, and an older cache at `path` stays until the new one is whole.
public final class EventCacheWriter {
    public let path: String
    private let output: FileOutput
    private var block: [UInt8] = []
    private var blockRecords: UInt32 = 0
    private var records: UInt64 = 0
    private var blocks: UInt64 = 0
    private var finished = false
    /// A block is closed once its payload reaches this size (smaller in tests, to get many blocks).
    private let blockBytes: Int

    /// Starts a cache of the input described by `source`.
    public convenience init(path: String, source: EventCacheStamp) throws(FileIOError) {
        try self.init(path: path, source: source, blockBytes: EventCacheFormat.targetBlockBytes)
    }

    init(path: String, source: EventCacheStamp, blockBytes: Int) throws(FileIOError) {
        self.path = path
        self.blockBytes = blockBytes
        output = try FileOutput(path: path, bufferBytes: 1 << 20, replacingAtomically: true)
        block.reserveCapacity(blockBytes + 4096)
        try output.write(Self.header(source))
    }

    /// Appends a batch's records (events and rejected lines) in line order.
    public func append(_ batch: EventBatch) throws(FileIOError) {
        var eventIndex = 0, errorIndex = 0
        while eventIndex < batch.events.count || errorIndex < batch.errors.count {
            let takeEvent = errorIndex == batch.errors.count
                || (eventIndex < batch.events.count && batch.lineNumbers[eventIndex] < batch.errors[errorIndex].line)
            if takeEvent {
                EventCacheRecord.append(event: batch.events[eventIndex], line: batch.lineNumbers[eventIndex], to: &block)
                eventIndex += 1
            } else {
                EventCacheRecord.append(error: batch.errors[errorIndex], to: &block)
                errorIndex += 1
            }
            blockRecords += 1
            if block.count >= blockBytes { try flushBlock() }
        }
    }

    /// Writes the end marker, flushes and moves the cache into place.
    public func finish() throws(FileIOError) {
        guard !finished else { return }
        finished = true
        try flushBlock()
        var end: [UInt8] = []
        Self.appendInteger(records, to: &end)
        Self.appendInteger(blocks, to: &end)
        try writeBlock(end, count: EventCacheFormat.endMarker)
        try output.close()
    }

    /// Drops the unfinished cache (the replay failed or was cut short).
    public func abandon() {
        guard !finished else { return }
        finished = true
        output.discard()
    }

    deinit { abandon() }

    private func flushBlock() throws(FileIOError) {
        guard blockRecords > 0 else { return }
        try writeBlock(block, count: blockRecords)
        records += UInt64(blockRecords)
        blocks += 1
        block.removeAll(keepingCapacity: true)
        blockRecords = 0
    }

    private func writeBlock(_ payload: [UInt8], count: UInt32) throws(FileIOError) {
        var header: [UInt8] = []
        header.reserveCapacity(EventCacheFormat.blockHeaderBytes)
        Self.appendInteger(UInt32(count), to: &header)
        Self.appendInteger(UInt32(payload.count), to: &header)
        Self.appendInteger(payload.withUnsafeBytes { EventCacheFormat.checksum($0) }, to: &header)
        try output.write(header)
        try output.write(payload)
    }

    static func header(_ source: EventCacheStamp) -> [UInt8] {
        var header = EventCacheFormat.magic
        appendInteger(EventCacheFormat.version, to: &header)
        appendInteger(UInt32(EventCacheFormat.headerBytes), to: &header)
        appendInteger(source.bytes, to: &header)
        appendInteger(source.modifiedSeconds, to: &header)
        appendInteger(source.modifiedNanoseconds, to: &header)
        appendInteger(EventCacheFormat.schema, to: &header)
        appendInteger(UInt64(0), to: &header)
        appendInteger(header.withUnsafeBytes { EventCacheFormat.checksum($0) }, to: &header)
        return header
    }

    private static func appendInteger<Value: FixedWidthInteger>(_ value: Value, to out: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { out.append(contentsOf: $0) }
    }
}
