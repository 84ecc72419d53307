import Synchronization

/// Matches librdkafka's delivery reports to the batches awaiting them. Each produced message
/// carries `(batch id, index)` packed into its per-message opaque pointer; the delivery callback
/// (on the polling thread) records the outcome, and the last report of a batch resumes its
/// waiting task.
final class DeliveryTracker: Sendable {
    struct Outcome {
        var partitions: [Int32]
        var offsets: [Int64]
        var failures: [(index: Int, code: KafkaErrorCode)] = []
    }

    private struct Pending {
        var remaining: Int
        var outcome: Outcome
        var continuation: CheckedContinuation<Outcome?, Never>?
        /// Its waiter was cancelled: the reports still to come are dropped with the entry.
        var abandoned = false

        /// Records one message's report; the messages still awaiting theirs.
        mutating func record(index: Int, partition: Int32, offset: Int64, error: KafkaErrorCode?) -> Int {
            outcome.partitions[index] = partition
            outcome.offsets[index] = offset
            if let error { outcome.failures.append((index, error)) }
            remaining -= 1
            return remaining
        }
    }

    private struct State {
        var nextID: UInt32 = 1
        var pending: [UInt32: Pending] = [:]
    }

    private let state = Mutex(State())

    /// Registers a batch of `count` messages; returns its id.
    func open(count: Int) -> UInt32 {
        state.withLock { state in
            let id = state.nextID
            state.nextID = state.nextID == UInt32.max ? 1 : state.nextID + 1
            state.pending[id] = Pending(
                remaining: count,
                outcome: Outcome(partitions: Array(repeating: -1, count: count), offsets: Array(repeating: -1, count: count)))
            return id
        }
    }

    static func opaque(batch: UInt32, index: Int) -> UnsafeMutableRawPointer {
        UnsafeMutableRawPointer(bitPattern: UInt(batch) << 32 | UInt(UInt32(index)))!
    }

    /// Called from the delivery-report callback, or for messages that never left (enqueue failed).
    func record(opaque: UnsafeMutableRawPointer?, partition: Int32, offset: Int64, error: KafkaErrorCode?) {
        let bits = UInt(bitPattern: opaque)
        record(batch: UInt32(truncatingIfNeeded: bits >> 32), index: Int(UInt32(truncatingIfNeeded: bits)),
               partition: partition, offset: offset, error: error)
    }

    func record(batch: UInt32, index: Int, partition: Int32, offset: Int64, error: KafkaErrorCode?) {
        let finished: (CheckedContinuation<Outcome?, Never>, Outcome)? = state.withLock { state in
            // One hash of the batch id per report, and the entry mutated in place through the
            // values' accessor: a copy of `Pending` taken out and stored back would share its
            // arrays with the stored one, so every report would copy the batch's whole outcome
            // (O(n²) per batch on the polling thread).
            guard let position = state.pending.index(forKey: batch),
                  state.pending.values[position].record(index: index, partition: partition, offset: offset, error: error) == 0 else { return nil }
            if state.pending.values[position].abandoned {
                state.pending.remove(at: position)
                return nil
            }
            guard let continuation = state.pending.values[position].continuation else { return nil }
            return (continuation, state.pending.remove(at: position).value.outcome)
        }
        if let (continuation, outcome) = finished { continuation.resume(returning: outcome) }
    }

    /// Suspends until every message of the batch has a delivery report; nil when the waiting
    /// task is cancelled first (a broker that went away answers only after `message.timeout.ms`,
    /// and a shutdown cannot wait that long). Then the batch's reports are dropped as they come.
    func wait(batch: UInt32) async -> Outcome? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let done: Outcome?? = state.withLock { state in
                    // An unknown batch is a bug; answering beats suspending forever.
                    guard var pending = state.pending[batch] else { return Outcome(partitions: [], offsets: []) }
                    if pending.remaining == 0 {
                        state.pending[batch] = nil
                        return pending.outcome
                    }
                    if pending.abandoned { return .some(nil) }
                    pending.continuation = continuation
                    state.pending[batch] = pending
                    return nil
                }
                if let done { continuation.resume(returning: done) }
            }
        } onCancel: {
            abandon(batch: batch)
        }
    }

    /// Stops waiting for `batch` (its waiter gets nil); its later reports are dropped.
    private func abandon(batch: UInt32) {
        let waiter: CheckedContinuation<Outcome?, Never>? = state.withLock { state in
            guard var pending = state.pending[batch], pending.remaining > 0 else { return nil }
            let waiter = pending.continuation
            pending.continuation = nil
            pending.abandoned = true
            state.pending[batch] = pending
            return waiter
        }
        waiter?.resume(returning: nil)
    }

    /// Batches still awaiting reports, and whether a task waits for `batch` (tests).
    var pendingBatches: Int { state.withLock { $0.pending.count } }
    func isAwaited(batch: UInt32) -> Bool { state.withLock { $0.pending[batch]?.continuation != nil } }
}
