/// The entries of `[lo, end)` of a key window whose values are monotone (decreasing for a max deque),
/// so the front is the window's extreme: O(1) amortized min/max for in-order reads.
/// Positions are absolute sequence numbers, which survive expiry at the front of the window.
struct MonotonicDeque {
    var items: [Int] = []
    var start = 0
    /// Absolute sequence of the first entry the deque covers.
    var lo = 0
    /// False after an insert into the middle of the window: rebuilt by the next read that needs it.
    var valid = false

    var isEmpty: Bool { start == items.count }
    var front: Int { items[start] }

    mutating func reset(lo: Int) {
        items.removeAll(keepingCapacity: true)
        start = 0
        self.lo = lo
        valid = true
    }

    mutating func popFront() {
        start += 1
        if start == items.count {
            items.removeAll(keepingCapacity: true)
            start = 0
        } else if start >= 32, start * 2 >= items.count {
            items.removeFirst(start)
            start = 0
        }
    }

    mutating func popBack() {
        items.removeLast()
        if start == items.count {
            items.removeAll(keepingCapacity: true)
            start = 0
        }
    }

    var back: Int { items[items.count - 1] }
}

/// How many entries of `[lo, end)` carry each value: O(1) amortized distinct counts for in-order reads.
struct DistinctCounter {
    var counts: [String: Int32] = [:]
    var lo = 0
    var valid = false

    mutating func reset(lo: Int) {
        counts.removeAll(keepingCapacity: true)
        self.lo = lo
        valid = true
    }

    mutating func add(_ value: String) { counts[value, default: 0] += 1 }

    mutating func remove(_ value: String) {
        guard let n = counts[value] else { return }
        if n <= 1 { counts[value] = nil } else { counts[value] = n - 1 }
    }
}
