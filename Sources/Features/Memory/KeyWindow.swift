import Allocator
import CPrefetch

/// What happened when an event was offered to one key's window.
enum InsertOutcome {
    case inserted
    /// Same payment id and event time as a stored entry: a redelivery, changes nothing.
    case duplicate
    /// Older than the key's newest event by more than the allowed lateness: read, not stored.
    case tooLate
}

/// The event the read-only mode counts as if it were stored (dry runs see what an update would see).
struct VirtualEntry {
    var facts: Int
}

/// A plan feature, read in place: `CompiledFeature` is ~170 bytes, and copying it out of the
/// layout's array for every feature of every read cost more than the read itself.
typealias FeatureRef = UnsafePointer<CompiledFeature>

extension GroupLayout {
    /// Calls `body` with feature `index` of the plan read in place (see `FeatureRef`).
    @inline(__always)
    func withFeature<Result>(_ index: Int, _ body: (FeatureRef) -> Result) -> Result {
        features.withUnsafeBufferPointer { body($0.baseAddress! + index) }
    }
}

/// The stored events of one key value (one card, one account, …), oldest first.
///
/// One ring buffer of fixed-stride Int64 entries serves every feature of the key (layout in
/// `GroupLayout`), sized to the data: it grows by half when full and shrinks by a third when a
/// third full (a factor of 1.5 rather than 2 keeps the slack, and so the bytes per held event, low).
/// The window owns the buffer's memory: unchecked pointer reads keep the per-event path free of
/// bounds and uniqueness checks, which dominate this code's cost with an `Array`.
/// Counts and sums come from prefix columns (running totals, wrapping arithmetic): any window
/// `[lo, hi)` is two reads, also for a late event's window in the past. Min/max use monotonic
/// deques and distinct a counted map for in-order reads, and fall back to a scan of the window for
/// reads in the past. Entries are dropped as soon as no event that is not too late can read them.
///
/// `@unchecked Sendable`: a window is only ever touched under the lock of the shard that owns it.
final class KeyWindow: @unchecked Sendable {
    /// The key value (card, account, …) this window belongs to: the shard's `KeyTable` confirms a hash match with it.
    let key: String
    /// `capacity × stride` entry words, then one base word per prefix column, then the cursors.
    private var storage: UnsafeMutablePointer<Int64>
    /// `capacity × stringsPerEntry` values for distinct (all initialized), slot-aligned with the ring.
    private var strings: UnsafeMutablePointer<String>
    private var capacity: Int
    private var head = 0
    private(set) var count = 0
    /// Absolute sequence number of logical entry 0; advances as entries expire.
    private var firstSeq = 0
    /// The newest event time stored: the key's watermark for lateness.
    private(set) var newest: Int64 = .min
    /// One deque per min/max feature and one counted map per distinct feature, owned by the window:
    /// as pointers rather than arrays, a mutation of one is not preceded by a uniqueness check of
    /// the array holding it.
    private let deques: UnsafeMutablePointer<MonotonicDeque>
    private let dequeCount: Int
    private let distincts: UnsafeMutablePointer<DistinctCounter>
    private let distinctMapCount: Int
    private let stride: Int
    private let stringsPerEntry: Int
    private let maskWords: Int
    /// Entry offset of the first prefix column; its base word sits at `capacity × stride`.
    private let prefixBase: Int
    private let prefixCount: Int
    /// Window-start cursors (absolute sequence numbers), one per distinct window length, kept after
    /// the prefix bases in the same allocation: one heap block fewer to miss per event.
    private let cursorCount: Int
    /// Words after the ring: prefix bases, then cursors.
    private var tailWords: Int { prefixCount &+ cursorCount }

    static let minimumCapacity = 4
    /// Windows of at most this many entries count distinct values by a scan, without a counted map.
    static let distinctScanLimit = 8
    /// The smallest ring: `minimumCapacity` fitted to its size class (see `fitted`).
    private let floorCapacity: Int

    init(key: String, layout: GroupLayout) {
        self.key = key
        stride = layout.stride
        stringsPerEntry = layout.stringSlots.count
        maskWords = layout.maskWords
        prefixBase = GroupLayout.maskOffset + layout.maskWords
        prefixCount = layout.prefixColumns.count
        cursorCount = layout.windows.count
        floorCapacity = KeyWindow.fitted(KeyWindow.minimumCapacity, stride: stride, tailWords: prefixCount + cursorCount)
        capacity = floorCapacity
        storage = .allocate(capacity: capacity * stride + prefixCount + cursorCount)
        storage.initialize(repeating: 0, count: capacity * stride + prefixCount + cursorCount)
        strings = KeyWindow.buffer(of: "", count: capacity * stringsPerEntry)
        dequeCount = layout.dequeIsMax.count
        deques = KeyWindow.buffer(of: MonotonicDeque(), count: dequeCount)
        distinctMapCount = layout.distinctCount
        distincts = KeyWindow.buffer(of: DistinctCounter(), count: distinctMapCount)
    }

    deinit {
        storage.deallocate()
        KeyWindow.free(strings, count: capacity * stringsPerEntry)
        KeyWindow.free(deques, count: dequeCount)
        for d in 0..<distinctMapCount { distincts[d].deallocate() }
        KeyWindow.free(distincts, count: distinctMapCount)
    }

    /// `count` copies of `value` on the heap; for none, no allocation at all (most windows have no
    /// deque, counted map or strings, and an empty malloc would add ~32 bytes per key) but an
    /// aligned placeholder that is never dereferenced.
    private static func buffer<Element>(of value: Element, count: Int) -> UnsafeMutablePointer<Element> {
        guard count > 0 else { return UnsafeMutablePointer(bitPattern: MemoryLayout<Element>.alignment)! }
        let buffer = UnsafeMutablePointer<Element>.allocate(capacity: count)
        buffer.initialize(repeating: value, count: count)
        return buffer
    }

    private static func free<Element>(_ buffer: UnsafeMutablePointer<Element>, count: Int) {
        guard count > 0 else { return }
        buffer.deinitialize(count: count)
        buffer.deallocate()
    }

    /// Bytes this window holds on the heap for its entries (capacity, not count), for statistics.
    var entryBytes: Int { (capacity * stride + tailWords) * 8 + capacity * stringsPerEntry * MemoryLayout<String>.stride }

    // MARK: Addressing

    /// Ring position of logical entry `i` (0 ≤ i < capacity); capacities are not powers of two.
    @inline(__always) private func slot(_ i: Int) -> Int {
        let s = head &+ i
        return s >= capacity ? s &- capacity : s
    }
    @inline(__always) private func offset(_ i: Int) -> Int { slot(i) &* stride }
    @inline(__always) func time(_ i: Int) -> Int64 { storage[offset(i)] }
    @inline(__always) private func stringIndex(_ i: Int, _ column: Int) -> Int { slot(i) &* stringsPerEntry &+ column }

    /// The running total of a prefix column up to and including entry `i`; entry −1 is the base
    /// (the total of everything that has expired), kept after the ring.
    @inline(__always) private func prefix(_ column: Int, _ i: Int, _ layout: GroupLayout) -> Int64 {
        if i < 0 { return storage[capacity &* stride &+ column &- prefixBase] }
        return storage[offset(i) + column]
    }

    @inline(__always) private func holds(_ condition: EntryCondition, _ i: Int) -> Bool {
        if condition.isTrivial { return true }
        return condition.holds(UnsafeBufferPointer(start: storage + offset(i) + GroupLayout.maskOffset, count: maskWords))
    }

    /// First entry with time > t. Inserts and reads are at or near the newest entry (an event is
    /// late by at most the lateness), so this steps back from the end a few entries before it
    /// bisects: the steps touch the ring's end, which is already cached, where each step of a
    /// bisection is a dependent cache miss.
    func upperBound(_ t: Int64) -> Int {
        var hi = count
        for _ in 0..<KeyWindow.linearSteps {
            if hi == 0 || time(hi &- 1) <= t { return hi }
            hi &-= 1
        }
        return firstAfter(t, from: 0, to: hi)
    }

    /// Entries examined one by one before a search bisects.
    static let linearSteps = 8

    /// First entry in `[lo, hi)` with time > t, or `hi`, by bisection; entry `hi` (if any) is known to be after t.
    private func firstAfter(_ t: Int64, from lo: Int, to hi: Int) -> Int {
        var lo = lo, hi = hi
        while lo < hi {
            let mid = (lo &+ hi) >> 1
            if time(mid) > t { hi = mid } else { lo = mid &+ 1 }
        }
        return lo
    }

    @inline(__always) private func cursor(_ slot: Int) -> Int { Int(storage[capacity &* stride &+ prefixCount &+ slot]) }

    /// First entry with time > `after`, from the window's cursor: O(1) amortized while reads move
    /// forward in time; a read in the past (a late event's) steps back from the cursor a few
    /// entries, then bisects, and leaves the cursor alone.
    private func windowStart(slot: Int, after: Int64) -> Int {
        var c = min(max(cursor(slot) - firstSeq, 0), count)
        if c == count || time(c) > after {
            for _ in 0..<KeyWindow.linearSteps {
                if c == 0 || time(c &- 1) <= after { return c }
                c &-= 1
            }
            return firstAfter(after, from: 0, to: c)
        }
        var steps = 0
        while c < count, time(c) <= after {
            c += 1
            steps += 1
            if steps == 16 {
                c = firstAfter(after, from: c, to: count)
                break
            }
        }
        storage[capacity &* stride &+ prefixCount &+ slot] = Int64(firstSeq + c)
        return c
    }

    // MARK: Cache warming

    /// Prefetches the window object at `address` (an unretained `KeyWindow`, from
    /// `KeyTable.likelyWindowAddress`): its stored properties span up to four cache lines.
    @inline(__always) static func prefetchHeader(at address: UnsafeRawPointer) {
        waqiti_prefetch(address)
        waqiti_prefetch(address + 64)
        waqiti_prefetch(address + 128)
        waqiti_prefetch(address + (instanceBytes - 1))
    }

    /// The object's size: Swift's two header words and the 19 words of stored properties (a hint:
    /// a wrong size only prefetches a line too few or too many).
    private static let instanceBytes = 16 + 19 * 8

    /// Prefetches what the next insert and read touch first, from the header alone (no load of a
    /// buffer): both ends of the ring and the slot after the newest entry, the prefix bases and
    /// cursors after the ring, and the deque and counted-map structs.
    @inline(__always) func prefetchBuffers() {
        if count > 0 {
            waqiti_prefetch(storage + offset(count &- 1))
            waqiti_prefetch(storage + offset(0))
            if count < capacity { waqiti_prefetch(storage + offset(count)) }
        }
        // The insert writes the new entry's distinct values into the strings ring: without this the
        // store into that slot was the costliest miss of `insert` (88% of its samples, 6% of a
        // replay's in `perf record` of `waqiti replay`, 300,000 events, default rules and model).
        if count < capacity { KeyWindow.prefetchLines(strings + stringIndex(count, 0), count: stringsPerEntry) }
        waqiti_prefetch(storage + capacity &* stride)
        if tailWords > 8 { waqiti_prefetch(storage + (capacity &* stride &+ tailWords &- 1)) }
        KeyWindow.prefetchLines(deques, count: dequeCount)
        // A counter is 40 bytes, so a key with six distinct features spans four lines; with only the
        // first prefetched, checking the others in `updateCaches` was 80% of that function's samples.
        KeyWindow.prefetchLines(distincts, count: distinctMapCount)
    }

    /// Prefetches every cache line of `count` elements from `start`.
    @inline(__always) private static func prefetchLines<Element>(_ start: UnsafeMutablePointer<Element>, count: Int) {
        guard count > 0 else { return }
        let start = UInt(bitPattern: start)
        let end = start &+ UInt(count &* MemoryLayout<Element>.stride)
        var line = start & ~63
        while line < end {
            waqiti_prefetch(UnsafeRawPointer(bitPattern: line))
            line &+= 64
        }
    }

    /// Prefetches the entries at and beside the window cursors, the counted-map slots of event `i`'s
    /// values and, when a counted map is in use, the strings-ring slot at each cursor; reads a word
    /// of the min/max deques' fronts (behind an array each, whose address is not known without
    /// loading it): all things the buffers prefetched by `prefetchBuffers` point to.
    /// The store is bound by memory latency (its tables and rings exceed the caches), and these
    /// loads, made for a run of (event, key) pairs before they are applied, overlap their misses.
    /// The returned words mean nothing; the caller folds them into a value it keeps.
    func warmBuffers(_ i: Int, facts: BatchFacts, layout: GroupLayout) -> Int64 {
        var sum: Int64 = 0
        var countsByMap = false
        for d in 0..<distinctMapCount {
            let column = layout.withFeature(layout.distinctFeatures[d]) { $0.pointee.stringColumn! }
            let hash = facts.stringHashes[i &* facts.stringCount &+ layout.stringSlots[column]]
            distincts[d].prefetch(hash: hash)
            if distincts[d].valid { countsByMap = true }
        }
        if count > 0 {
            // Where each window starts: the read moves its cursor from there. The cursors came in
            // with `prefetchBuffers`; the entries they point at are only needed by the read. The read
            // compares the cursor's entry and one neighbour (the one before it when the window did
            // not move, the one after when it moved by one), each usually on a line of its own.
            for slot in 0..<cursorCount {
                let c = Swift.min(Swift.max(cursor(slot) - firstSeq, 0), count - 1)
                waqiti_prefetch(storage + offset(c))
                if c > 0 { waqiti_prefetch(storage + offset(c - 1)) }
                if c + 1 < count { waqiti_prefetch(storage + offset(c + 1)) }
                // Entries leaving a counted map's window are removed by their value, read from the
                // strings ring (a window small enough to be scanned reads only the stored hashes).
                if countsByMap { KeyWindow.prefetchLines(strings + stringIndex(c, 0), count: stringsPerEntry) }
            }
            for d in 0..<dequeCount where !deques[d].isEmpty && deques[d].front >= firstSeq {
                sum &+= storage[offset(Swift.min(deques[d].front - firstSeq, count - 1))]
            }
        }
        return sum
    }

    // MARK: Updates

    /// Adds event `i` of the batch unless it is too late or a duplicate. `end`: the event's
    /// `upperBound` after the call (the first entry later than it), which its read needs, when
    /// known without a search.
    func insert(_ i: Int, facts: BatchFacts, layout: GroupLayout, lateness: Int64, retention: Int64) -> (outcome: InsertOutcome, end: Int?) {
        let t = facts.times[i]
        if count > 0, t < newest - lateness { return (.tooLate, nil) }
        let p = upperBound(t)
        if isDuplicate(i, facts: facts, upperBound: p) { return (.duplicate, p) }
        if count == capacity { resize(to: capacity + capacity / 2) }
        if p < count { shiftRight(from: p) }
        count += 1
        let base = offset(p)
        storage[base + GroupLayout.timeOffset] = t
        storage[base + GroupLayout.hashOffset] = Int64(bitPattern: facts.idHashes[i])
        for w in 0..<layout.maskWords {
            storage[base + GroupLayout.maskOffset + w] = Int64(bitPattern: facts.masks[i * facts.maskWords + w])
        }
        for (column, slot) in layout.valueColumns {
            storage[base + column] = facts.numerics[i * facts.numericCount + slot]
        }
        for (local, slot) in layout.stringSlots.enumerated() {
            strings[stringIndex(p, local)] = facts.strings[i * facts.stringCount + slot]
            storage[base + layout.stringHashColumns[local]] = Int64(bitPattern: facts.stringHashes[i * facts.stringCount + slot])
        }
        let appended = p == count - 1
        facts.masks.withUnsafeBufferPointer { masks in
            let mask = UnsafeBufferPointer(rebasing: masks[(i * facts.maskWords)...])
            for (column, source) in layout.prefixColumns {
                let contribution: Int64
                switch source {
                case .count(let condition): contribution = condition.holds(mask) ? 1 : 0
                case .sum(let condition, let slot): contribution = condition.holds(mask) ? facts.numerics[i * facts.numericCount + slot] : 0
                }
                storage[base + column] = prefix(column, p - 1, layout) &+ contribution
                if !appended, contribution != 0 {
                    for k in (p + 1)..<count { storage[offset(k) + column] &+= contribution }
                }
            }
        }
        updateCaches(insertedAt: p, appended: appended, layout: layout)
        if t > newest { newest = t }
        // The new entry is within lateness of the newest, so never expires here; the entries before
        // it that do shift its position down.
        let endSeq = firstSeq + p + 1
        expire(olderThanOrAt: newest - retention, layout: layout)
        if capacity > floorCapacity, count * 3 <= capacity { resize(to: Swift.max(floorCapacity, capacity * 2 / 3)) }
        return (.inserted, endSeq - firstSeq)
    }

    /// Drops the entries a plan with this retention would no longer keep (after a plan change).
    func expire(retention: Int64, layout: GroupLayout) {
        guard count > 0 else { return }
        expire(olderThanOrAt: newest - retention, layout: layout)
    }

    /// Only an entry with the same time can be the original, so the check looks at equal-time
    /// entries only (see docs/features.md for the 64-bit hash collision bound).
    func isDuplicate(_ i: Int, facts: BatchFacts, upperBound after: Int? = nil) -> Bool {
        let t = facts.times[i]
        let hash = Int64(bitPattern: facts.idHashes[i])
        var j = (after ?? upperBound(t)) - 1
        while j >= 0, time(j) == t {
            if storage[offset(j) + GroupLayout.hashOffset] == hash { return true }
            j -= 1
        }
        return false
    }

    private func shiftRight(from p: Int) {
        var k = count
        while k > p {
            let to = offset(k), from = offset(k - 1)
            for c in 0..<stride { storage[to + c] = storage[from + c] }
            for s in 0..<stringsPerEntry { strings[stringIndex(k, s)] = strings[stringIndex(k - 1, s)] }
            k -= 1
        }
    }

    private func updateCaches(insertedAt p: Int, appended: Bool, layout: GroupLayout) {
        let seq = firstSeq + p
        for d in 0..<dequeCount where deques[d].valid {
            if !appended {
                // A late insert: the entries after it moved up one place; the deque stays exact.
                deques[d].shiftForInsert(at: seq)
                if seq < deques[d].lo { continue }
            }
            let (condition, column) = layout.withFeature(layout.dequeFeatures[d]) { ($0.pointee.condition, $0.pointee.valueColumn!) }
            guard holds(condition, p) else { continue }
            let value = storage[offset(p) + column]
            let isMax = layout.dequeIsMax[d]
            @inline(__always) func dominated(_ item: Int) -> Bool {
                let other = storage[offset(item - firstSeq) + column]
                return isMax ? other <= value : other >= value
            }
            // Items are in position order with strictly decreasing (max) / increasing (min) values:
            // the new entry is dropped if a later item is at least as extreme, and evicts the
            // items before it that it beats.
            var m = deques[d].items.count
            if !appended {
                m = deques[d].start
                while m < deques[d].items.count, deques[d].items[m] < seq { m += 1 }
                if m < deques[d].items.count {
                    let next = storage[offset(deques[d].items[m] - firstSeq) + column]
                    if isMax ? next >= value : next <= value { continue }
                }
            }
            var r = m
            while r > deques[d].start, dominated(deques[d].items[r - 1]) { r -= 1 }
            if m == deques[d].items.count {
                // The usual case, an entry at the end: no generic range replacement.
                deques[d].items.removeLast(m - r)
                deques[d].items.append(seq)
            } else {
                deques[d].items.replaceSubrange(r..<m, with: CollectionOfOne(seq))
            }
        }
        for d in 0..<distinctMapCount where distincts[d].valid {
            if seq < distincts[d].lo {
                distincts[d].lo += 1
                continue
            }
            layout.withFeature(layout.distinctFeatures[d]) { feature in
                if holds(feature.pointee.condition, p) { distincts[d].add(strings[stringIndex(p, feature.pointee.stringColumn!)], hash: stringHash(feature, p)) }
            }
        }
    }

    /// Drops entries with time ≤ `cutoff` from the front, keeping the prefix bases and caches exact.
    private func expire(olderThanOrAt cutoff: Int64, layout: GroupLayout) {
        while count > 0, time(0) <= cutoff {
            let base = offset(0)
            for (column, _) in layout.prefixColumns {
                storage[capacity &* stride &+ column &- prefixBase] = storage[base + column]
            }
            for d in 0..<dequeCount {
                if !deques[d].isEmpty, deques[d].front == firstSeq { deques[d].popFront() }
                if deques[d].lo == firstSeq { deques[d].lo += 1 }
            }
            for d in 0..<distinctMapCount where distincts[d].valid && distincts[d].lo == firstSeq {
                layout.withFeature(layout.distinctFeatures[d]) { feature in
                    if holds(feature.pointee.condition, 0) { distincts[d].remove(strings[stringIndex(0, feature.pointee.stringColumn!)], hash: stringHash(feature, 0)) }
                }
                distincts[d].lo += 1
            }
            for s in 0..<stringsPerEntry { strings[stringIndex(0, s)] = "" }
            head = head + 1 == capacity ? 0 : head + 1
            count -= 1
            firstSeq += 1
        }
    }

    /// `wanted` raised to the most entries the allocator's size class for that ring holds anyway:
    /// the rounding becomes room for entries rather than slack (about a tenth of a ring's bytes on
    /// average), and the next resize comes later.
    private static func fitted(_ wanted: Int, stride: Int, tailWords: Int) -> Int {
        let bytes = Allocator.sizeClass(forBytes: (wanted * stride + tailWords) * 8)
        return Swift.max(wanted, (bytes / 8 - tailWords) / stride)
    }

    /// Moves the entries to a ring of `newCapacity` starting at slot 0: the ring's two runs (from
    /// `head` to the end, then from slot 0) are copied whole, not entry by entry.
    private func resize(to wanted: Int) {
        let newCapacity = KeyWindow.fitted(wanted, stride: stride, tailWords: tailWords)
        guard newCapacity != capacity else { return }
        let words = newCapacity * stride + tailWords
        let newStorage = UnsafeMutablePointer<Int64>.allocate(capacity: words)
        let firstRun = Swift.min(count, capacity - head)
        let secondRun = count - firstRun
        newStorage.initialize(from: storage + head * stride, count: firstRun * stride)
        (newStorage + firstRun * stride).initialize(from: storage, count: secondRun * stride)
        (newStorage + count * stride).initialize(repeating: 0, count: (newCapacity - count) * stride)
        (newStorage + newCapacity * stride).initialize(from: storage + capacity * stride, count: tailWords)
        if stringsPerEntry > 0 {
            // The live strings are moved, not copied (no retain and release of each); the free
            // slots of the old ring are deinitialized, then the old buffer is released.
            let spe = stringsPerEntry
            let newStrings = UnsafeMutablePointer<String>.allocate(capacity: newCapacity * spe)
            newStrings.moveInitialize(from: strings + head * spe, count: firstRun * spe)
            (newStrings + firstRun * spe).moveInitialize(from: strings, count: secondRun * spe)
            (newStrings + count * spe).initialize(repeating: "", count: (newCapacity - count) * spe)
            let freeStart = head + count < capacity ? head + count : head + count - capacity
            let freeFirstRun = Swift.min(capacity - count, capacity - freeStart)
            (strings + freeStart * spe).deinitialize(count: freeFirstRun * spe)
            strings.deinitialize(count: (capacity - count - freeFirstRun) * spe)
            strings.deallocate()
            strings = newStrings
        }
        storage.deallocate()
        storage = newStorage
        capacity = newCapacity
        head = 0
    }

    // MARK: Reads

    /// Writes every feature of the group for the event at time t into `out[row…]`.
    /// `virtual`: the event itself, counted without being stored (read-only mode).
    /// `end`: `upperBound(t)` when the caller knows it.
    func read(
        at t: Int64, layout: GroupLayout, facts: BatchFacts, virtual: Int?, end: Int? = nil, into out: UnsafeMutableBufferPointer<Double>, row: Int
    ) {
        let hi = end ?? upperBound(t)
        // Each window length's start once, shared by the features over it (a plan has fewer window
        // lengths per key field than features).
        withUnsafeTemporaryAllocation(of: Int.self, capacity: cursorCount) { starts in
            for slot in 0..<cursorCount { starts[slot] = windowStart(slot: slot, after: t &- layout.windows[slot]) }
            layout.features.withUnsafeBufferPointer { features in
                for k in features.indices {
                    let feature = features.baseAddress! + k
                    out[row + feature.pointee.outColumn] = value(
                        of: feature, at: t, lo: starts[feature.pointee.cursorSlot], hi: hi, facts: facts, virtual: virtual, layout: layout
                    )
                }
            }
        }
    }

    private func virtualHolds(_ condition: EntryCondition, _ virtual: Int?, _ facts: BatchFacts) -> Bool {
        guard let v = virtual else { return false }
        return facts.masks.withUnsafeBufferPointer { condition.holds(UnsafeBufferPointer(rebasing: $0[(v * facts.maskWords)...])) }
    }

    private func value(of feature: FeatureRef, at t: Int64, lo: Int, hi: Int, facts: BatchFacts, virtual: Int?, layout: GroupLayout) -> Double {
        let withVirtual = virtualHolds(feature.pointee.condition, virtual, facts)
        switch feature.pointee.kind {
        case .count, .sum, .avg:
            var n = Int64(hi - lo)
            if let column = feature.pointee.countColumn { n = prefix(column, hi - 1, layout) &- prefix(column, lo - 1, layout) }
            if withVirtual { n += 1 }
            if feature.pointee.kind == .count { return Double(n) }
            // The prefix columns wrap; the difference read as unsigned is the exact sum of the
            // (never negative) amounts, also past Int64.max.
            let column = feature.pointee.sumColumn!
            var sum = UInt64(bitPattern: prefix(column, hi - 1, layout)) &- UInt64(bitPattern: prefix(column, lo - 1, layout))
            if withVirtual, let v = virtual { sum &+= UInt64(bitPattern: virtualNumeric(feature, v, facts, layout)) }
            return feature.pointee.kind == .sum ? feature.pointee.scale.value(sum: sum) : feature.pointee.scale.average(sum: sum, count: n)
        case .min, .max:
            var extreme = extremeValue(feature, lo: lo, hi: hi, layout: layout)
            if withVirtual, let v = virtual {
                let value = virtualNumeric(feature, v, facts, layout)
                if let e = extreme { extreme = feature.pointee.kind == .max ? Swift.max(e, value) : Swift.min(e, value) } else { extreme = value }
            }
            // Not `extreme.map(feature.pointee.scale.value)`: the partially applied method allocated a closure per read.
            guard let extreme else { return .nan }
            return feature.pointee.scale.value(extreme)
        case .distinct:
            var extra: (value: String, hash: UInt64)?
            if withVirtual, let v = virtual {
                let slot = v * facts.stringCount + layout.stringSlots[feature.pointee.stringColumn!]
                extra = (facts.strings[slot], facts.stringHashes[slot])
            }
            return Double(distinctCount(feature, lo: lo, hi: hi, plus: extra))
        case .secondsSinceFirst:
            var k = lo
            while k < hi, !holds(feature.pointee.condition, k) { k += 1 }
            if k < hi { return Double((t - time(k)) / 1000) }
            return withVirtual ? 0 : .nan
        case .secondsSinceLast:
            // The last entry before t: step back over the entries at t from `hi` (upperBound(t)),
            // usually one step, where a binary search from scratch would miss the cache log n times.
            var k = hi - 1
            while k >= lo, time(k) >= t { k -= 1 }
            while k >= lo {
                if holds(feature.pointee.condition, k) { return Double((t - time(k)) / 1000) }
                k -= 1
            }
            return .nan
        }
    }

    private func virtualNumeric(_ feature: FeatureRef, _ v: Int, _ facts: BatchFacts, _ layout: GroupLayout) -> Int64 {
        facts.numerics[v * facts.numericCount + feature.pointee.numericSlot!]
    }

    private func extremeValue(_ feature: FeatureRef, lo: Int, hi: Int, layout: GroupLayout) -> Int64? {
        let column = feature.pointee.valueColumn!
        let isMax = feature.pointee.kind == .max
        let d = feature.pointee.auxSlot!
        let loSeq = firstSeq + lo
        guard hi == count else {
            // A window in the past, [lo, hi) with hi < count. The deque holds, from its `lo` on, every
            // entry no later entry equals or beats, in position order: its first item at or after
            // `lo` is where the extreme of [lo, count) sits. When that lies before `hi` it is the
            // extreme of [lo, hi) too, which for a late event is the usual case (its window ends a
            // few entries before the newest); otherwise the window is scanned.
            if deques[d].valid, deques[d].lo <= loSeq {
                var k = deques[d].start
                while k < deques[d].items.count, deques[d].items[k] < loSeq { k += 1 }
                if k == deques[d].items.count { return nil }
                if deques[d].items[k] < firstSeq + hi { return storage[offset(deques[d].items[k] - firstSeq) + column] }
            }
            return scanExtreme(column: column, condition: feature.pointee.condition, isMax: isMax, lo: lo, hi: hi)
        }
        if !deques[d].valid || loSeq < deques[d].lo {
            deques[d].reset(lo: loSeq)
            for k in lo..<hi where holds(feature.pointee.condition, k) {
                let value = storage[offset(k) + column]
                while !deques[d].isEmpty {
                    let backValue = storage[offset(deques[d].back - firstSeq) + column]
                    if isMax ? backValue <= value : backValue >= value { deques[d].popBack() } else { break }
                }
                deques[d].items.append(firstSeq + k)
            }
        }
        while !deques[d].isEmpty, deques[d].front < loSeq { deques[d].popFront() }
        deques[d].lo = Swift.max(deques[d].lo, loSeq)
        if deques[d].isEmpty { return nil }
        return storage[offset(deques[d].front - firstSeq) + column]
    }

    /// The extreme of `[lo, hi)`, a window in the past (a late event's read): a scan, walked as the
    /// ring's (at most two) contiguous runs with a plain pointer stride, since late events are common
    /// (a fifth to two fifths of the events per key in the benchmark's 30 s of disorder).
    private func scanExtreme(column: Int, condition: EntryCondition, isMax: Bool, lo: Int, hi: Int) -> Int64? {
        guard lo < hi else { return nil }
        var extreme = isMax ? Int64.min : Int64.max
        var found = false
        @inline(__always) func scan(from first: Int, count n: Int) {
            var entry = storage + first &* stride
            for _ in 0..<n {
                if condition.isTrivial || condition.holds(UnsafeBufferPointer(start: entry + GroupLayout.maskOffset, count: maskWords)) {
                    let value = entry[column]
                    extreme = isMax ? Swift.max(extreme, value) : Swift.min(extreme, value)
                    found = true
                }
                entry += stride
            }
        }
        let start = slot(lo)
        let firstRun = Swift.min(hi - lo, capacity - start)
        scan(from: start, count: firstRun)
        scan(from: 0, count: hi - lo - firstRun)
        return found ? extreme : nil
    }

    @inline(__always) private func stringHash(_ feature: FeatureRef, _ i: Int) -> UInt64 {
        UInt64(bitPattern: storage[offset(i) + feature.pointee.stringHashColumn!])
    }

    private func distinctCount(_ feature: FeatureRef, lo: Int, hi: Int, plus extra: (value: String, hash: UInt64)?) -> Int {
        let column = feature.pointee.stringColumn!
        let d = feature.pointee.auxSlot!
        guard hi == count else { return pastDistinct(feature, lo: lo, hi: hi, plus: extra) }
        // Most keys (cards, devices, IPs) hold a handful of entries: counting them by a scan spares
        // each such key a counted map, a heap table of 8 slots (320 bytes) per distinct feature that
        // was most of what a new key cost (89 MB of 290 MB live in a jemalloc heap profile of `waqiti
        // serve` under `waqiti-bench engine --only throughput --events 100000 --runs 1 --stores memory`
        // with MALLOC_CONF=prof:true; bench/results/engine.md, session 11). The map is built once the
        // window outgrows the scan.
        if !distincts[d].valid, hi - lo <= KeyWindow.distinctScanLimit {
            return scanDistinct(feature, lo: lo, hi: hi, plus: extra)
        }
        let loSeq = firstSeq + lo
        if !distincts[d].valid || loSeq < distincts[d].lo {
            distincts[d].reset(lo: loSeq)
            for k in lo..<hi where holds(feature.pointee.condition, k) { distincts[d].add(strings[stringIndex(k, column)], hash: stringHash(feature, k)) }
        }
        while distincts[d].lo < loSeq {
            let k = distincts[d].lo - firstSeq
            if holds(feature.pointee.condition, k) { distincts[d].remove(strings[stringIndex(k, column)], hash: stringHash(feature, k)) }
            distincts[d].lo += 1
        }
        var n = distincts[d].count
        if let extra, !distincts[d].contains(extra.value, hash: extra.hash) { n += 1 }
        return n
    }

    /// Distinct values of a window in the past, `[lo, hi)` with `hi < count` (a late event's read).
    /// The counted map covers `[mapLo, count)`: when the two ranges differ by fewer entries than the
    /// window holds, the map is shifted to the window (entries after `hi` taken out, those between
    /// the two starts added or taken out), read, and shifted back: O(lateness in entries), exact.
    private func pastDistinct(_ feature: FeatureRef, lo: Int, hi: Int, plus extra: (value: String, hash: UInt64)?) -> Int {
        let d = feature.pointee.auxSlot!
        let mapLo = distincts[d].lo - firstSeq
        guard distincts[d].valid, mapLo <= hi, abs(lo - mapLo) + (count - hi) < hi - lo else {
            return scanDistinct(feature, lo: lo, hi: hi, plus: extra)
        }
        let column = feature.pointee.stringColumn!
        func apply(_ range: Range<Int>, adding: Bool) {
            for k in range where holds(feature.pointee.condition, k) {
                if adding {
                    distincts[d].add(strings[stringIndex(k, column)], hash: stringHash(feature, k))
                } else {
                    distincts[d].remove(strings[stringIndex(k, column)], hash: stringHash(feature, k))
                }
            }
        }
        apply(hi..<count, adding: false)
        if lo < mapLo { apply(lo..<mapLo, adding: true) } else { apply(mapLo..<lo, adding: false) }
        var n = distincts[d].count
        if let extra, !distincts[d].contains(extra.value, hash: extra.hash) { n += 1 }
        if lo < mapLo { apply(lo..<mapLo, adding: false) } else { apply(mapLo..<lo, adding: true) }
        apply(hi..<count, adding: true)
        return n
    }

    /// Distinct values of a window in the past: the entries' stored hashes sorted on the stack, equal
    /// hashes confirmed by comparing the strings (no string is hashed, nothing is allocated on the heap
    /// for windows up to a few thousand entries).
    private func scanDistinct(_ feature: FeatureRef, lo: Int, hi: Int, plus extra: (value: String, hash: UInt64)?) -> Int {
        let column = feature.pointee.stringColumn!
        // Sort key: the hash, then the entry (−1 for the extra value) to find the strings again.
        return withUnsafeTemporaryAllocation(of: (hash: UInt64, entry: Int).self, capacity: hi - lo + 1) { buffer in
            var n = 0
            for k in lo..<hi where holds(feature.pointee.condition, k) {
                buffer[n] = (stringHash(feature, k), k)
                n += 1
            }
            if let extra {
                buffer[n] = (extra.hash, -1)
                n += 1
            }
            var items = UnsafeMutableBufferPointer(rebasing: buffer[0..<n])
            items.sort { $0.hash < $1.hash }
            func value(_ entry: Int) -> String { entry < 0 ? extra!.value : strings[stringIndex(entry, column)] }
            var distinct = 0
            var runStart = 0
            while runStart < n {
                var runEnd = runStart + 1
                while runEnd < n, items[runEnd].hash == items[runStart].hash { runEnd += 1 }
                if runEnd - runStart == 1 {
                    distinct += 1
                } else {
                    // Equal hashes: count the different strings among them (almost always one).
                    for a in runStart..<runEnd {
                        let text = value(items[a].entry)
                        if !(runStart..<a).contains(where: { value(items[$0].entry) == text }) { distinct += 1 }
                    }
                }
                runStart = runEnd
            }
            return distinct
        }
    }
}
