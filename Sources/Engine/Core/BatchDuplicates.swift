import FraudCore

/// Where each event of a batch first appears by payment_id: the index of the first event with
/// the same id (its own index when it is the first).
///
/// One pass over a small open-addressing table sized to the batch, keyed by `SeededHash` of the
/// id (the decision cache's hash) and confirmed by comparing the ids. A
/// `[String: Int]` did the same with Swift's SipHash and a dictionary per batch, about 1.5% of
/// `decide`'s CPU (`perf record -e cpu-clock -g waqiti-bench decide --profile 512 --events 100000
/// --runs 5`) for a check that almost never finds anything. The seed is random per process,
/// so ids that collide cannot be chosen in advance; even if they did, they would cost a comparison
/// per pair of events in one bounded batch (`batch.max_events`, `http.max_batch_events`), nothing
/// beyond it.
enum BatchDuplicates {
    /// `first[i] == i` for the first event of each payment_id in `events`, otherwise the index of
    /// that first event. `nil` when every id is distinct (the usual batch), so the caller does no
    /// further work.
    static func firstOccurrences(_ events: [PaymentEvent], skipping decided: [Bool]) -> [Int]? {
        var capacity = 16
        while capacity < events.count * 2 { capacity <<= 1 }
        let mask = capacity - 1
        var first: [Int]?
        return withUnsafeTemporaryAllocation(of: Int32.self, capacity: capacity) { table in
            table.initialize(repeating: -1)
            for index in events.indices where !decided[index] {
                let id = events[index].paymentID
                var slot = Int(truncatingIfNeeded: hash(id)) & mask
                while true {
                    let held = Int(table[slot])
                    if held < 0 {
                        table[slot] = Int32(index)
                        break
                    }
                    if events[held].paymentID == id {
                        if first == nil { first = Array(events.indices) }
                        first![index] = held
                        break
                    }
                    slot = (slot + 1) & mask
                }
            }
            return first
        }
    }

    private static let hash = SeededHash()
}
