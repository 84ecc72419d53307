/// 64-bit hash → slot of the caller's storage, as an open-addressing table with linear probing,
/// for tables whose keys (payment ids, list values) live in the caller's own storage.
///
/// Each entry is one word: the top 32 bits of the key's hash (which also give its home position)
/// and the slot + 1 (0 is an empty entry). The hash only narrows the search: `find` takes a slot
/// as the key's only when the caller's `matches` says the key stored there is the one sought, so
/// keys whose hashes collide stay apart. Kept at most half full; grows by doubling without
/// hashing any key again (the home position at any size up to 2^32 entries is in the stored bits).
/// Removal shifts the following entries back (no tombstones), so lookups never slow down as keys
/// leave. Hashing is the caller's (`SeededHash` where clients choose the keys).
public struct HashSlotIndex: Sendable {
    @usableFromInline var table: [UInt64]
    /// 64 − log2(table.count): an entry's (or hash's) home is its top bits.
    @usableFromInline var shift: UInt64
    public private(set) var count = 0

    public init() {
        table = Array(repeating: 0, count: 16)
        shift = 64 - 4
    }

    /// The address of `hash`'s home entry, for a prefetch ahead of `find`.
    public func homeAddress(hash: UInt64) -> UnsafeRawPointer {
        table.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress! + Int(truncatingIfNeeded: hash >> shift)) }
    }

    /// The slot whose key `matches` accepts among those stored under `hash`, and the position of
    /// its entry; else nil and the empty position where `hash` would go.
    @inlinable
    public func find(hash: UInt64, where matches: (Int) -> Bool) -> (found: Int?, position: Int) {
        let tag = hash >> 32, mask = table.count - 1
        var position = Int(truncatingIfNeeded: hash >> shift)
        while true {
            let entry = table[position]
            if entry == 0 { return (nil, position) }
            if entry >> 32 == tag {
                let slot = Int(truncatingIfNeeded: entry & 0xFFFF_FFFF) - 1
                if matches(slot) { return (slot, position) }
            }
            position = (position + 1) & mask
        }
    }

    /// Adds `hash` → `slot` (below 2^32 − 1); `position` is the empty position `find` returned, if
    /// nothing changed the table since.
    public mutating func insert(hash: UInt64, slot: Int, at position: Int?) {
        let entry = (hash >> 32) << 32 | UInt64(slot + 1)
        if (count + 1) * 2 > table.count {
            grow()
            place(entry)
        } else if let position {
            table[position] = entry
        } else {
            place(entry)
        }
        count += 1
    }

    /// Removes the entry at `position` (a position `find` returned with a slot).
    public mutating func remove(at position: Int) {
        let mask = table.count - 1
        var hole = position
        // Backward shift: every later entry of the run that may live at the hole moves there.
        var next = hole
        while true {
            next = (next + 1) & mask
            let entry = table[next]
            if entry == 0 { break }
            let home = Int(truncatingIfNeeded: entry >> shift)
            if (next &- home) & mask >= (next &- hole) & mask {
                table[hole] = entry
                hole = next
            }
        }
        table[hole] = 0
        count -= 1
    }

    private mutating func place(_ entry: UInt64) {
        let mask = table.count - 1
        var position = Int(truncatingIfNeeded: entry >> shift)
        while table[position] != 0 { position = (position + 1) & mask }
        table[position] = entry
    }

    private mutating func grow() {
        let old = table
        table = Array(repeating: 0, count: old.count * 2)
        shift -= 1
        for entry in old where entry != 0 { place(entry) }
    }
}
