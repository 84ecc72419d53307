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
/// A slot keeps hash, value and count together: a probe reads one cache line, not three.
struct DistinctCounter {
    private struct Slot {
        var hash: UInt64 = 0
        var value = ""
        /// 0 marks an empty slot.
        var count: Int32 = 0
    }

    private var slots: [Slot] = []
    /// Distinct values present.
    private(set) var count = 0
    var lo = 0
    var valid = false

    mutating func reset(lo: Int) {
        if count > 0 {
            for s in slots.indices where slots[s].count != 0 { slots[s] = Slot() }
        }
        count = 0
        self.lo = lo
        valid = true
    }

    private func home(_ hash: UInt64) -> Int { Int(truncatingIfNeeded: hash) & (slots.count &- 1) }

    private func slot(of value: String, hash: UInt64) -> Int? {
        guard !slots.isEmpty else { return nil }
        let mask = slots.count &- 1
        var s = home(hash)
        while slots[s].count != 0 {
            if slots[s].hash == hash, slots[s].value == value { return s }
            s = (s &+ 1) & mask
        }
        return nil
    }

    func contains(_ value: String, hash: UInt64) -> Bool { slot(of: value, hash: hash) != nil }

    /// Loads the home slot of `hash` (see `KeyWindow.warmBuffers`); returns a word of it.
    @inline(__always)
    func warm(hash: UInt64) -> Int64 {
        guard !slots.isEmpty else { return 0 }
        let s = home(hash)
        return Int64(slots[s].count) &+ Int64(bitPattern: slots[s].hash)
    }

    mutating func add(_ value: String, hash: UInt64) {
        if let s = slot(of: value, hash: hash) {
            slots[s].count += 1
            return
        }
        if (count + 1) * 4 > slots.count * 3 { grow() }
        let mask = slots.count &- 1
        var s = home(hash)
        while slots[s].count != 0 { s = (s &+ 1) & mask }
        slots[s] = Slot(hash: hash, value: value, count: 1)
        count += 1
    }

    mutating func remove(_ value: String, hash: UInt64) {
        guard let s = slot(of: value, hash: hash) else { return }
        if slots[s].count > 1 {
            slots[s].count -= 1
            return
        }
        count -= 1
        // Backward-shift deletion: pull later members of the probe run into the hole.
        let mask = slots.count &- 1
        var hole = s
        var j = s
        while true {
            j = (j &+ 1) & mask
            if slots[j].count == 0 { break }
            let h = home(slots[j].hash)
            // Movable when its home is not cyclically within (hole, j].
            let inRange = hole <= j ? (h > hole && h <= j) : (h > hole || h <= j)
            if !inRange {
                slots[hole] = slots[j]
                hole = j
            }
        }
        slots[hole] = Slot()
    }

    private mutating func grow() {
        let old = slots
        slots = Array(repeating: Slot(), count: Swift.max(8, old.count * 2))
        let mask = slots.count - 1
        for slot in old where slot.count != 0 {
            var s = home(slot.hash)
            while slots[s].count != 0 { s = (s &+ 1) & mask }
            slots[s] = slot
        }
    }
}
