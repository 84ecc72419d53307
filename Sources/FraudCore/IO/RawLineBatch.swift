/// Lines of a JSON Lines file copied out of the reader's buffer, not yet decoded: the unit a
/// pipelined replay hands to a decoding thread. Decoding is a pure function of the bytes, so a
/// batch decodes to the same events on any thread.
public struct RawLineBatch: Sendable {
    /// One line: its 1-based number and byte range in `bytes`, or the reader's error for it
    /// (an over-long line, whose bytes were not kept).
    public struct Line: Sendable {
        public var number: Int
        public var start: Int
        public var end: Int
        public var error: EventLineError?

        public init(number: Int, start: Int, end: Int, error: EventLineError? = nil) {
            self.number = number
            self.start = start
            self.end = end
            self.error = error
        }
    }

    public var fileName: String
    public var bytes: [UInt8] = []
    public var lines: [Line] = []

    public init(fileName: String) {
        self.fileName = fileName
    }

    /// The events and errors of these lines in line order, exactly as `JSONLinesReader.nextBatch`
    /// would have returned them.
    public func decode(with decoder: EventDecoder = EventDecoder()) -> EventBatch {
        var batch = EventBatch()
        batch.events.reserveCapacity(lines.count)
        batch.lineNumbers.reserveCapacity(lines.count)
        bytes.withUnsafeBufferPointer { all in
            for line in lines {
                if let error = line.error {
                    batch.errors.append(error)
                } else {
                    JSONLinesReader.decode(UnsafeBufferPointer(rebasing: all[line.start..<line.end]), number: line.number, file: fileName, decoder, into: &batch)
                }
            }
        }
        return batch
    }
}
