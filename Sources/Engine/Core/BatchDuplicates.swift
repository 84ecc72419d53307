import FraudCore

/// Where each event of a batch first appears by payment_id: the index of the first event with
/// the same id (its own index when it is the first).
///
/// One pass over a small open-addressing table sized to the batch, keyed by an FNV-1a hash of the
/// id's bytes and confirmed by comparing the ids. A `[String: Int]` did the same with Swift's
/// SipHash and a dictionary per batch, about 1.5% of `decide`'s CPU for a check that almost never
/// finds anything. The hash is not keyed: ids crafted to collide cost at worst a comparison per
/// pair of events in one batch (the batch is bounded: `batch.max_events`, `http.max_batch_events`),
/// never anything beyond it.
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

    private static func hash(_ text: String) -> UInt64 {
        var text = text
        return text.withUTF8 { bytes in
            var h: UInt64 = 0xcbf2_9ce4_8422_2325
            for byte in bytes { h = (h ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
            // Fold the high bits down: the table indexes by the low bits.
            return h ^ (h >> 29)
        }
    }
}
