/// The key windows of one key field in one shard, found by a hash of the key computed once per
/// event (`BatchFacts.keyHashes`, which also picks the shard) and confirmed by comparing the key
/// itself, so keys whose hashes collide stay apart.
///
/// Open addressing with linear probing over the hash's high bits (the low bits chose the shard).
/// A slot holds the hash beside the window reference, so a probe costs one cache line, not two.
/// The hash is Swift's per-process seeded `Hasher`, so customer-controlled keys (device ids, IPs)
/// cannot be crafted to collide and degrade probing. Keys leave one at a time by backward-shift
/// deletion (`remove`) or in bulk (`removeAll(where:)`, which rebuilds), so there are no tombstones.
///
/// A class owning a plain buffer rather than a struct around an `Array`: every (event, key) pair
/// of a batch probes a table, and an array's buffer was retained and released around each probe.
/// `@unchecked Sendable`: used only under the lock of the shard that owns it.
final class KeyTable: @unchecked Sendable {
    private struct Slot {
        var hash: UInt64
        var window: KeyWindow?
    }

    private var slots: UnsafeMutablePointer<Slot>
    private var capacity: Int
    private var shift: UInt64
    private(set) var count = 0

    init() {
        capacity = 8
        slots = KeyTable.emptySlots(capacity)
        shift = 64 - 3
    }

    deinit {
        slots.deinitialize(count: capacity)
        slots.deallocate()
    }

    private static func emptySlots(_ capacity: Int) -> UnsafeMutablePointer<Slot> {
        let slots = UnsafeMutablePointer<Slot>.allocate(capacity: capacity)
        slots.initialize(repeating: Slot(hash: 0, window: nil), count: capacity)
        return slots
    }

    @inline(__always)
    private func home(_ hash: UInt64) -> Int { Int(truncatingIfNeeded: hash &>> shift) }

    /// The slot of `key`, or nil when the table does not hold it.
    func find(_ key: String, hash: UInt64) -> Int? {
        unretainedWindow(key, hash: hash)?.slot
    }

    /// The slot and window of `key`, or nil when the table does not hold it; the window is not
    /// retained (the table holds it until the next `insert`, `removeAll` or slot assignment). Each
    /// (event, key) pair of a batch looks its window up: a retain and release of it there cost
    /// more than the probe (atomic writes to an object the read may already have left).
    @inline(__always)
    func unretainedWindow(_ key: String, hash: UInt64) -> (slot: Int, window: Unmanaged<KeyWindow>)? {
        let mask = capacity &- 1
        var s = home(hash)
        while let address = windowAddress(s) {
            if slots[s].hash == hash {
                let window = Unmanaged<KeyWindow>.fromOpaque(address)
                if window._withUnsafeGuaranteedRef({ $0.key == key }) { return (s, window) }
            }
            s = (s &+ 1) & mask
        }
        return nil
    }

    /// The window reference of slot `s` as an address, read without retaining it.
    @inline(__always)
    private func windowAddress(_ s: Int) -> UnsafeRawPointer? {
        UnsafeRawPointer(slots + s).load(fromByteOffset: KeyTable.windowOffset, as: UnsafeRawPointer?.self)
    }

    /// Where `hash`'s home slot lies, for a prefetch ahead of `find`.
    @inline(__always)
    func homeSlotAddress(hash: UInt64) -> UnsafeRawPointer {
        UnsafeRawPointer(slots + home(hash))
    }

    /// The window in `hash`'s home slot when that slot carries `hash` (no key comparison), as an
    /// unretained address: retaining it would be an atomic write to an object not yet in the cache,
    /// a stall of its own. For prefetching ahead of `find`, never for answers.
    @inline(__always)
    func likelyWindowAddress(hash: UInt64) -> UnsafeRawPointer? {
        let s = home(hash)
        guard slots[s].hash == hash else { return nil }
        return windowAddress(s)
    }

    private static let windowOffset = MemoryLayout<Slot>.offset(of: \Slot.window)!

    subscript(slot: Int) -> KeyWindow {
        get { slots[slot].window! }
        set { slots[slot].window = newValue }
    }

    /// Adds a window whose key the table does not hold (`find` returned nil).
    func insert(_ window: KeyWindow, hash: UInt64) {
        if (count + 1) * 4 > capacity * 3 { rebuild(capacity: capacity * 2) { _ in true } }
        place(window, hash: hash)
        count += 1
    }

    /// Drops `key`'s window; false when the table does not hold it. Backward-shift deletion: the
    /// windows after the freed slot whose probe passed it move back, so lookups stay correct
    /// without tombstones, and the cost is the probe run's, not the table's. (The Redis store
    /// forgets each entity it rebuilds from its log; with `removeAll` each batch of those scanned
    /// and rebuilt the whole shard table.) Never shrinks: the sweep's `removeAll` does.
    @discardableResult
    func remove(_ key: String, hash: UInt64) -> Bool {
        guard var hole = find(key, hash: hash) else { return false }
        let mask = capacity &- 1
        slots[hole] = Slot(hash: 0, window: nil)
        var s = (hole &+ 1) & mask
        while slots[s].window != nil {
            // The window at s may fill the hole when the hole lies on its probe path, between its
            // home slot and s (cyclically).
            if (s &- home(slots[s].hash)) & mask >= (s &- hole) & mask {
                slots[hole] = slots[s]
                slots[s] = Slot(hash: 0, window: nil)
                hole = s
            }
            s = (s &+ 1) & mask
        }
        count -= 1
        return true
    }

    /// Drops every window the predicate selects; shrinks the table when it becomes sparse.
    func removeAll(where shouldRemove: (KeyWindow) -> Bool) {
        var kept = 0
        for s in 0..<capacity { if let window = slots[s].window, !shouldRemove(window) { kept += 1 } }
        guard kept < count else { return }
        var newCapacity = 8
        while kept * 4 > newCapacity * 3 / 2 { newCapacity *= 2 }
        rebuild(capacity: newCapacity) { !shouldRemove($0) }
    }

    var values: [KeyWindow] { (0..<capacity).compactMap { slots[$0].window } }

    private func place(_ window: KeyWindow, hash: UInt64) {
        let mask = capacity &- 1
        var s = home(hash)
        while slots[s].window != nil { s = (s &+ 1) & mask }
        slots[s] = Slot(hash: hash, window: window)
    }

    private func rebuild(capacity newCapacity: Int, keeping: (KeyWindow) -> Bool) {
        let old = slots, oldCapacity = capacity
        slots = KeyTable.emptySlots(newCapacity)
        capacity = newCapacity
        shift = UInt64(64 - newCapacity.trailingZeroBitCount)
        count = 0
        for s in 0..<oldCapacity {
            guard let window = old[s].window, keeping(window) else { continue }
            place(window, hash: old[s].hash)
            count += 1
        }
        old.deinitialize(count: oldCapacity)
        old.deallocate()
    }
}
