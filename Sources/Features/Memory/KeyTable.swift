/// The key windows of one key field in one shard, found by a hash of the key computed once per
/// event (`BatchFacts.keyHashes`, which also picks the shard) and confirmed by comparing the key
/// itself, so keys whose hashes collide stay apart.
///
/// Open addressing with linear probing over the hash's high bits (the low bits chose the shard).
/// The hash is Swift's per-process seeded `Hasher`, so customer-controlled keys (device ids, IPs)
/// cannot be crafted to collide and degrade probing. Keys leave only in bulk (`removeAll(where:)`,
/// which rebuilds), so there are no tombstones.
struct KeyTable {
    private var hashes: [UInt64]
    private var windows: [KeyWindow?]
    private var shift: UInt64
    private(set) var count = 0

    init() {
        hashes = Array(repeating: 0, count: 8)
        windows = Array(repeating: nil, count: 8)
        shift = 64 - 3
    }

    /// The slot of `key`, or nil when the table does not hold it.
    @inline(__always)
    func find(_ key: String, hash: UInt64) -> Int? {
        let mask = windows.count &- 1
        var s = Int(truncatingIfNeeded: hash &>> shift)
        while let window = windows[s] {
            if hashes[s] == hash, window.key == key { return s }
            s = (s &+ 1) & mask
        }
        return nil
    }

    subscript(slot: Int) -> KeyWindow {
        get { windows[slot]! }
        set { windows[slot] = newValue }
    }

    /// Adds a window whose key the table does not hold (`find` returned nil).
    mutating func insert(_ window: KeyWindow, hash: UInt64) {
        if (count + 1) * 4 > windows.count * 3 { rebuild(capacity: windows.count * 2) { _ in true } }
        place(window, hash: hash)
        count += 1
    }

    /// Drops every window the predicate selects; shrinks the table when it becomes sparse.
    mutating func removeAll(where shouldRemove: (KeyWindow) -> Bool) {
        var kept = 0
        for case let window? in windows where !shouldRemove(window) { kept += 1 }
        guard kept < count else { return }
        var capacity = 8
        while kept * 4 > capacity * 3 / 2 { capacity *= 2 }
        rebuild(capacity: capacity) { !shouldRemove($0) }
    }

    var values: [KeyWindow] { windows.compactMap { $0 } }

    private mutating func place(_ window: KeyWindow, hash: UInt64) {
        let mask = windows.count &- 1
        var s = Int(truncatingIfNeeded: hash &>> shift)
        while windows[s] != nil { s = (s &+ 1) & mask }
        hashes[s] = hash
        windows[s] = window
    }

    private mutating func rebuild(capacity: Int, keeping: (KeyWindow) -> Bool) {
        let oldHashes = hashes, oldWindows = windows
        hashes = Array(repeating: 0, count: capacity)
        windows = Array(repeating: nil, count: capacity)
        shift = UInt64(64 - capacity.trailingZeroBitCount)
        count = 0
        for (s, window) in oldWindows.enumerated() {
            guard let window, keeping(window) else { continue }
            place(window, hash: oldHashes[s])
            count += 1
        }
    }
}
