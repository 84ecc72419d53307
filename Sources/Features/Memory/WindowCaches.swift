import CPrefetch

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
///
/// The slots are a plain buffer whose address and size sit in the counter itself (in the window's
/// counter buffer, which `KeyWindow.prefetchBuffers` brings in): an array kept its size in its
/// heap header, a cache miss of its own before every probe and before a slot could be prefetched.
/// The owner frees it with `deallocate()` (a value over memory it owns; never copied once used).
struct DistinctCounter {
    private struct Slot {
        var hash: UInt64 = 0
        var value = ""
        /// 0 marks an empty slot.
        var count: Int32 = 0
    }

    private var slots: UnsafeMutablePointer<Slot>?
    /// Slots allocated: 0 or a power of two.
    private var capacity = 0
    /// Distinct values present.
    private(set) var count = 0
    var lo = 0
    var valid = false

    /// Frees the slots. The counter is empty afterwards.
    mutating func deallocate() {
        if let slots {
            slots.deinitialize(count: capacity)
            slots.deallocate()
        }
        slots = nil
        capacity = 0
        count = 0
        valid = false
    }

    mutating func reset(lo: Int) {
        if count > 0, let slots {
            for s in 0..<capacity where slots[s].count != 0 { slots[s] = Slot() }
        }
        count = 0
        self.lo = lo
        valid = true
    }

    @inline(__always)
    private func home(_ hash: UInt64) -> Int { Int(truncatingIfNeeded: hash) & (capacity &- 1) }

    private func slot(of value: String, hash: UInt64) -> Int? {
        guard let slots else { return nil }
        let mask = capacity &- 1
        var s = home(hash)
        while slots[s].count != 0 {
            if slots[s].hash == hash, slots[s].value == value { return s }
            s = (s &+ 1) & mask
        }
        return nil
    }

    func contains(_ value: String, hash: UInt64) -> Bool { slot(of: value, hash: hash) != nil }

    /// Prefetches the home slot of `hash` (see `KeyWindow.warmBuffers`).
    @inline(__always)
    func prefetch(hash: UInt64) {
        guard let slots else { return }
        waqiti_prefetch(slots + home(hash))
    }

    mutating func add(_ value: String, hash: UInt64) {
        if let s = slot(of: value, hash: hash) {
            slots![s].count += 1
            return
        }
        if (count + 1) * 4 > capacity * 3 { grow() }
        let slots = slots!, mask = capacity &- 1
        var s = home(hash)
        while slots[s].count != 0 { s = (s &+ 1) & mask }
        slots[s] = Slot(hash: hash, value: value, count: 1)
        count += 1
    }

    mutating func remove(_ value: String, hash: UInt64) {
        guard let s = slot(of: value, hash: hash), let slots else { return }
        if slots[s].count > 1 {
            slots[s].count -= 1
            return
        }
        count -= 1
        // Backward-shift deletion: pull later members of the probe run into the hole.
        let mask = capacity &- 1
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
        let old = slots, oldCapacity = capacity
        capacity = Swift.max(8, oldCapacity * 2)
        let fresh = UnsafeMutablePointer<Slot>.allocate(capacity: capacity)
        fresh.initialize(repeating: Slot(), count: capacity)
        slots = fresh
        guard let old else { return }
        let mask = capacity - 1
        for o in 0..<oldCapacity where old[o].count != 0 {
            var s = home(old[o].hash)
            while fresh[s].count != 0 { s = (s &+ 1) & mask }
            fresh[s] = old[o]
        }
        old.deinitialize(count: oldCapacity)
        old.deallocate()
    }
}
