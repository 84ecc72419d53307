import Dispatch
import FraudCore

/// Decodes a JSON Lines file on worker threads ahead of the replay loop and hands the batches
/// back in file order: `waqiti replay --workers N` with N ≥ 2.
///
/// Only decoding runs in parallel. The calling thread splits lines (a `memchr` and a copy per
/// batch) and keeps `depth` batches in flight on `workers` serial queues, round robin; `nextBatch`
/// waits for the oldest. Because decoding is a pure function of a line's bytes and batches come
/// back in the order they were read, the engine sees exactly the batches the sequential reader
/// would give it, and the decisions are byte-identical whatever the number of workers (tested).
/// Features, rules and the model stay on the calling thread: windows keyed by different entities
/// (card, account, device, beneficiary) in one plan cannot be split by a single key without
/// changing what each event sees.
public final class PipelinedEventSource: @unchecked Sendable {
    /// One batch being decoded; `wait()` returns it once its worker is done.
    private final class Slot: @unchecked Sendable {
        private let done = DispatchSemaphore(value: 0)
        private var batch = EventBatch()

        func fill(_ decoded: EventBatch) {
            batch = decoded
            done.signal()
        }

        func wait() -> EventBatch {
            done.wait()
            return batch
        }
    }

    private let reader: JSONLinesReader
    private let queues: [DispatchQueue]
    private let depth: Int
    private let decoder: EventDecoder
    private var inFlight: [Slot] = []
    private var inFlightHead = 0
    private var submitted = 0
    private var exhausted = false

    /// - Parameters:
    ///   - workers: decoding threads (at least 1; the calling thread runs the engine).
    ///   - depth: batches decoded ahead of the one being replayed (default: two per worker).
    public init(reader: JSONLinesReader, workers: Int, depth: Int? = nil, decoder: EventDecoder = EventDecoder()) {
        self.reader = reader
        let workers = max(1, workers)
        queues = (0..<workers).map { DispatchQueue(label: "waqiti-replay-decode-\($0)") }
        self.depth = max(1, depth ?? 2 * workers)
        self.decoder = decoder
    }

    /// Input bytes the reader has consumed (ahead of the batches delivered by up to `depth` batches).
    public var bytesRead: Int { reader.bytesRead }

    /// The next batch in file order, up to `maxEvents` lines; nil at the end of the file.
    public func nextBatch(maxEvents: Int) throws -> EventBatch? {
        try refill(maxLines: maxEvents)
        guard inFlightHead < inFlight.count else { return nil }
        let slot = inFlight[inFlightHead]
        inFlightHead += 1
        if inFlightHead == inFlight.count || inFlightHead > 64 {
            inFlight.removeFirst(inFlightHead)
            inFlightHead = 0
        }
        let batch = slot.wait()
        // Keep the pipeline full while the caller works on this batch.
        try refill(maxLines: maxEvents)
        return batch
    }

    private func refill(maxLines: Int) throws {
        while !exhausted, inFlight.count - inFlightHead < depth {
            guard let raw = try reader.nextRawBatch(maxLines: maxLines) else {
                exhausted = true
                return
            }
            let slot = Slot()
            let decoder = decoder
            queues[submitted % queues.count].async { slot.fill(raw.decode(with: decoder)) }
            submitted += 1
            inFlight.append(slot)
        }
    }
}
