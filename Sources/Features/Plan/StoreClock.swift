import Synchronization

/// The store's newest event time, which the key-eviction rule reads (docs/features.md, rule 10).
///
/// Each event sees the newest time over everything processed before it and itself; computing that
/// up front for the whole batch keeps it independent of the order shards or keys are visited in.
final class StoreClock: Sendable {
    private let newest = Mutex<Int64>(.min)

    /// The newest time before the batch, and the newest time as seen by each event of it.
    func advance(over times: [Int64], mode: StoreMode) -> (before: Int64, perEvent: [Int64]) {
        let before = newest.withLock { $0 }
        var running = before
        var perEvent = [Int64](repeating: before, count: times.count)
        for (i, t) in times.enumerated() {
            if mode == .update { running = max(running, t) }
            perEvent[i] = running
        }
        if mode == .update { newest.withLock { $0 = max($0, running) } }
        return (before, perEvent)
    }
}

extension GroupLayout {
    /// An event without a value for the key adds nothing and reads as an empty window.
    func writeMissingKey(row: Int, into out: UnsafeMutableBufferPointer<Double>) {
        for feature in features {
            switch feature.kind {
            case .count, .sum, .distinct: out[row + feature.outColumn] = 0
            case .avg, .min, .max, .secondsSinceFirst, .secondsSinceLast: out[row + feature.outColumn] = .nan
            }
        }
    }
}
