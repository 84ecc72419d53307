/// The key windows of one key field in one shard, found by a hash of the key computed once per
/// event (`BatchFacts.keyHashes`, which also picks the shard) and confirmed by comparing the key
/// itself, so keys whose hashes collide stay apart.
///
/// Open addressing with linear probing over the hash's high bits (the low bits chose the shard).
/// A slot holds the hash beside the window reference, so a probe costs one cache line, not two.
/// The hash is Swift's per-process seeded `Hasher`, so customer-controlled keys (device ids, IPs)
/// cannot be crafted to collide and degrade probing. Keys leave only in bulk (`removeAll(where:)`,
/// which rebuilds), so there are no tombstones.
struct KeyTable {
    private struct Slot {
        var hash: UInt64
        var window: KeyWindow?
    }

    private var slots: [Slot]
    private var shift: UInt64
    private(set) var count = 0

    init() {
        slots = Array(repeating: Slot(hash: 0, window: nil), count: 8)
        shift = 64 - 3
    }

    @inline(__always)
    private func home(_ hash: UInt64) -> Int { Int(truncatingIfNeeded: hash &>> shift) }

    /// The slot of `key`, or nil when the table does not hold it.
    @inline(__always)
    func find(_ key: String, hash: UInt64) -> Int? {
        let mask = slots.count &- 1
        var s = home(hash)
        while let window = slots[s].window {
            if slots[s].hash == hash, window.key == key { return s }
            s = (s &+ 1) & mask
        }
        return nil
    }

    /// Where `hash`'s home slot lies, for a prefetch ahead of `find`.
    @inline(__always)
    func homeSlotAddress(hash: UInt64) -> UnsafeRawPointer {
        slots.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress! + home(hash)) }
    }

    /// The window in `hash`'s home slot when that slot carries `hash` (no key comparison), as an
    /// unretained address: retaining it would be an atomic write to an object not yet in the cache,
    /// a stall of its own. For prefetching ahead of `find`, never for answers.
    @inline(__always)
    func likelyWindowAddress(hash: UInt64) -> UnsafeRawPointer? {
        slots.withUnsafeBufferPointer { slots in
            let slot = slots.baseAddress! + home(hash)
            guard slot.pointee.hash == hash else { return nil }
            return UnsafeRawPointer(slot).load(fromByteOffset: KeyTable.windowOffset, as: UnsafeRawPointer?.self)
        }
    }

    private static let windowOffset = MemoryLayout<Slot>.offset(of: \Slot.window)!

    subscript(slot: Int) -> KeyWindow {
        get { slots[slot].window! }
        set { slots[slot].window = newValue }
    }

    /// Adds a window whose key the table does not hold (`find` returned nil).
    mutating func insert(_ window: KeyWindow, hash: UInt64) {
        if (count + 1) * 4 > slots.count * 3 { rebuild(capacity: slots.count * 2) { _ in true } }
        place(window, hash: hash)
        count += 1
    }

    /// Drops every window the predicate selects; shrinks the table when it becomes sparse.
    mutating func removeAll(where shouldRemove: (KeyWindow) -> Bool) {
        var kept = 0
        for slot in slots { if let window = slot.window, !shouldRemove(window) { kept += 1 } }
        guard kept < count else { return }
        var capacity = 8
        while kept * 4 > capacity * 3 / 2 { capacity *= 2 }
        rebuild(capacity: capacity) { !shouldRemove($0) }
    }

    var values: [KeyWindow] { slots.compactMap(\.window) }

    private mutating func place(_ window: KeyWindow, hash: UInt64) {
        let mask = slots.count &- 1
        var s = home(hash)
        while slots[s].window != nil { s = (s &+ 1) & mask }
        slots[s] = Slot(hash: hash, window: window)
    }

    private mutating func rebuild(capacity: Int, keeping: (KeyWindow) -> Bool) {
        let old = slots
        slots = Array(repeating: Slot(hash: 0, window: nil), count: capacity)
        shift = UInt64(64 - capacity.trailingZeroBitCount)
        count = 0
        for slot in old {
            guard let window = slot.window, keeping(window) else { continue }
            place(window, hash: slot.hash)
            count += 1
        }
    }
}
