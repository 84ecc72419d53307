/// The entries of `[lo, end)` of a key window whose values are monotone (decreasing for a max deque),
/// so the front is the window's extreme: O(1) amortized min/max for in-order reads.
/// Positions are absolute sequence numbers, which survive expiry at the front of the window.
struct MonotonicDeque {
    var items: [Int] = []
    var start = 0
    /// Absolute sequence of the first entry the deque covers.
    var lo = 0
    /// False until the first in-order read builds it (and after a read starting before `lo`).
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

    /// An entry was inserted at absolute sequence `seq`, before the end: every entry from `seq` on
    /// moved up one place.
    mutating func shiftForInsert(at seq: Int) {
        if lo > seq { lo += 1 }
        for k in start..<items.count where items[k] >= seq { items[k] += 1 }
    }
}

/// How many entries of `[lo, end)` carry each value: O(1) amortized distinct counts for in-order reads.
///
/// Open addressing over the values' seeded hashes (stored per entry, computed once per event), so
/// no string is hashed again here; a hash match is confirmed by comparing the strings, so two
/// values whose hashes collide still count as two. Linear probing with backward-shift deletion.
struct DistinctCounter {
    private var hashes: [UInt64] = []
    private var values: [String] = []
    /// 0 marks an empty slot.
    private var counts: [Int32] = []
    /// Distinct values present.
    private(set) var count = 0
    var lo = 0
    var valid = false

    mutating func reset(lo: Int) {
        if count > 0 {
            for s in counts.indices where counts[s] != 0 {
                counts[s] = 0
                values[s] = ""
            }
        }
        count = 0
        self.lo = lo
        valid = true
    }

    private func home(_ hash: UInt64) -> Int { Int(truncatingIfNeeded: hash) & (counts.count &- 1) }

    private func slot(of value: String, hash: UInt64) -> Int? {
        guard !counts.isEmpty else { return nil }
        let mask = counts.count &- 1
        var s = home(hash)
        while counts[s] != 0 {
            if hashes[s] == hash, values[s] == value { return s }
            s = (s &+ 1) & mask
        }
        return nil
    }

    func contains(_ value: String, hash: UInt64) -> Bool { slot(of: value, hash: hash) != nil }

    mutating func add(_ value: String, hash: UInt64) {
        if let s = slot(of: value, hash: hash) {
            counts[s] += 1
            return
        }
        if (count + 1) * 4 > counts.count * 3 { grow() }
        let mask = counts.count &- 1
        var s = home(hash)
        while counts[s] != 0 { s = (s &+ 1) & mask }
        hashes[s] = hash
        values[s] = value
        counts[s] = 1
        count += 1
    }

    mutating func remove(_ value: String, hash: UInt64) {
        guard let s = slot(of: value, hash: hash) else { return }
        if counts[s] > 1 {
            counts[s] -= 1
            return
        }
        count -= 1
        // Backward-shift deletion: pull later members of the probe run into the hole.
        let mask = counts.count &- 1
        var hole = s
        var j = s
        while true {
            j = (j &+ 1) & mask
            if counts[j] == 0 { break }
            let h = home(hashes[j])
            // Movable when its home is not cyclically within (hole, j].
            let inRange = hole <= j ? (h > hole && h <= j) : (h > hole || h <= j)
            if !inRange {
                hashes[hole] = hashes[j]
                values[hole] = values[j]
                counts[hole] = counts[j]
                hole = j
            }
        }
        counts[hole] = 0
        values[hole] = ""
    }

    private mutating func grow() {
        let oldHashes = hashes, oldValues = values, oldCounts = counts
        let capacity = Swift.max(8, counts.count * 2)
        hashes = Array(repeating: 0, count: capacity)
        values = Array(repeating: "", count: capacity)
        counts = Array(repeating: 0, count: capacity)
        let mask = capacity - 1
        for k in oldCounts.indices where oldCounts[k] != 0 {
            var s = home(oldHashes[k])
            while counts[s] != 0 { s = (s &+ 1) & mask }
            hashes[s] = oldHashes[k]
            values[s] = oldValues[k]
            counts[s] = oldCounts[k]
        }
    }
}
