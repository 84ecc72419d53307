import FraudCore
import Glibc

/// `waqiti replay --input F.jsonl --cache F.wqc`: replays from the pre-decoded cache when it
/// exists, or decodes the input as usual and writes the cache on the way.
///
/// Both ways hand the replay loop the same batches (same boundaries, events, line numbers and
/// rejected lines), so the decisions are byte-identical (tested). A cache that exists but does not
/// match the input, or is damaged, is an error before anything is replayed: it is never silently
/// rebuilt over, and never trusted.
public final class CachedEventSource: @unchecked Sendable {
    public enum Mode: String, Sendable {
        /// Events come from the cache; the input is not read.
        case reading
        /// Events come from the input; the cache is written as they pass and moved into place at the end.
        case writing
    }

    public let mode: Mode
    private let reader: EventCacheReader?
    private let decode: DecisionReplay.NextBatch?
    private let decodedBytes: () -> Int
    private let writer: EventCacheWriter?

    /// - Parameters:
    ///   - input: the JSON Lines or CSV file the cache stands for.
    ///   - decoder: how to read `input` when the cache has to be built (the same reader a replay
    ///     without `--cache` would use), and how many of its bytes it has read.
    public init(input: String, cache: String, decoder: () throws -> (next: DecisionReplay.NextBatch, bytesRead: () -> Int)) throws {
        let stamp = try EventCacheStamp(path: input)
        if access(cache, F_OK) == 0 {
            mode = .reading
            reader = try EventCacheReader(path: cache, inputName: input, source: stamp)
            decode = nil
            decodedBytes = { 0 }
            writer = nil
        } else {
            mode = .writing
            let source = try decoder()
            reader = nil
            decode = source.next
            decodedBytes = source.bytesRead
            writer = try EventCacheWriter(path: cache, source: stamp)
        }
    }

    /// Bytes consumed of whichever file is being read (the cache, or the input while writing).
    public var bytesRead: Int { reader?.bytesRead ?? decodedBytes() }

    /// The size of whichever file is being read, for the progress bar's ETA.
    public func totalBytes(input: String) -> Int? {
        if let reader { return reader.totalBytes }
        var info = stat()
        return stat(input, &info) == 0 ? Int(info.st_size) : nil
    }

    /// The next batch of up to `maxEvents` records; nil at the end (where a cache being written is finished).
    public func nextBatch(maxEvents: Int) throws -> EventBatch? {
        if let reader { return try reader.nextBatch(maxLines: maxEvents) }
        do {
            guard let batch = try decode!(maxEvents) else {
                try writer!.finish()
                return nil
            }
            try writer!.append(batch)
            return batch
        } catch {
            writer!.abandon()
            throw error
        }
    }
}
