import FraudCore

/// Which stored entries an aggregate looks at: those that pass its filter and carry a value for
/// its field. Both are bits of the entry's mask; nil means "every entry".
struct EntryCondition: Hashable, Sendable {
    var filterBit: Int?
    var presenceBit: Int?

    var isTrivial: Bool { filterBit == nil && presenceBit == nil }

    @inline(__always)
    func holds<Word: FixedWidthInteger>(_ masks: UnsafeBufferPointer<Word>) -> Bool {
        if let bit = filterBit, UInt64(truncatingIfNeeded: masks[bit >> 6]) & (1 << UInt64(bit & 63)) == 0 { return false }
        if let bit = presenceBit, UInt64(truncatingIfNeeded: masks[bit >> 6]) & (1 << UInt64(bit & 63)) == 0 { return false }
        return true
    }
}

/// One plan feature as a key window computes it: which columns of the shared entry buffer it reads.
struct CompiledFeature: Sendable {
    var outColumn: Int
    var kind: AggregateKind
    /// W in milliseconds; for seconds_since_* the plan's longest window (see docs/features.md).
    var windowMs: Int64
    var condition: EntryCondition
    /// Prefix-count column of `condition`; nil when the condition is trivial (count = index difference).
    var countColumn: Int?
    var sumColumn: Int?
    /// Raw per-entry value column (min/max).
    var valueColumn: Int?
    /// Index among the group's string columns (distinct).
    var stringColumn: Int?
    /// Entry column holding the seeded hash of that string (distinct, in-memory store).
    var stringHashColumn: Int?
    /// Index of the window-start cursor this feature shares with features of the same W.
    var cursorSlot: Int
    /// Index of the monotonic deque (min/max) or of the counted map (distinct) this feature owns.
    var auxSlot: Int?
    /// Global numeric slot of the field (sum/avg/min/max).
    var numericSlot: Int?
    var scale: NumericScale
}

/// What a prefix column accumulates per entry.
enum PrefixSource: Hashable, Sendable {
    case count(EntryCondition)
    case sum(EntryCondition, numericSlot: Int)
}

/// The layout of the entries of every key of one key field (`card_fingerprint`, `ip`, …):
/// all features over that key share one buffer of entries, one stride of Int64 per entry.
///
/// Entry: `[time, paymentIDHash, mask words…, prefix columns…, value columns…, string hash columns…]`
/// (the strings themselves, for distinct, sit beside the ring in the window's string buffer).
/// A class, immutable after compilation: the hot path hands it around by reference, where a
/// struct of arrays would be retained and released field by field on every key-window step.
final class GroupLayout: Sendable {
    static let timeOffset = 0
    static let hashOffset = 1
    static let maskOffset = 2

    let key: EventField
    let stride: Int
    let maskWords: Int
    let prefixColumns: [(offset: Int, source: PrefixSource)]
    let valueColumns: [(offset: Int, numericSlot: Int)]
    /// Global string slots stored per entry (for distinct), in local order.
    let stringSlots: [Int]
    /// Entry column of each stored string's hash (`BatchFacts.stringHashes`), in the same order.
    let stringHashColumns: [Int]
    let windows: [Int64]
    let features: [CompiledFeature]
    /// One monotonic deque per min/max feature: true keeps the maximum at its front.
    let dequeIsMax: [Bool]
    let distinctCount: Int
    /// Index in `features` of the feature owning each deque / each counted map.
    let dequeFeatures: [Int]
    let distinctFeatures: [Int]
    /// Everything the stored entries and caches of a key window depend on (features in order, their
    /// windows, mask bits and columns). Two plans whose groups for one key field have the same
    /// signature can share that key's windows: a rules reload keeps the state of unchanged keys.
    let storageSignature: String

    init(
        key: EventField, stride: Int, maskWords: Int, prefixColumns: [(offset: Int, source: PrefixSource)],
        valueColumns: [(offset: Int, numericSlot: Int)], stringSlots: [Int], stringHashColumns: [Int], windows: [Int64], features: [CompiledFeature],
        dequeIsMax: [Bool], distinctCount: Int, dequeFeatures: [Int], distinctFeatures: [Int], storageSignature: String
    ) {
        self.key = key
        self.stride = stride
        self.maskWords = maskWords
        self.prefixColumns = prefixColumns
        self.valueColumns = valueColumns
        self.stringSlots = stringSlots
        self.stringHashColumns = stringHashColumns
        self.windows = windows
        self.features = features
        self.dequeIsMax = dequeIsMax
        self.distinctCount = distinctCount
        self.dequeFeatures = dequeFeatures
        self.distinctFeatures = distinctFeatures
        self.storageSignature = storageSignature
    }
}

/// A `FeaturePlan` compiled for the window stores: mask bits, groups by key field, horizons.
struct CompiledPlan: Sendable {
    let plan: FeaturePlan
    let lateness: Int64
    /// The plan's longest window: the look-back of seconds_since_*.
    let horizon: Int64
    /// Entries with time ≤ newest − retention can never be read again by an event that is not too late.
    let retention: Int64
    /// A key whose newest event is older than the store's newest by more than this is dropped.
    let evictAfter: Int64
    let filters: [FeatureFilter]
    let numericFields: [EventField]
    let stringFields: [EventField]
    let maskWords: Int
    let groups: [GroupLayout]
    /// Per group, the string slot of its key field when a distinct feature also counts that field.
    let keyStringSlots: [Int?]

    private static func saturatingSum(_ a: Int64, _ b: Int64) -> Int64 {
        let (sum, overflow) = a.addingReportingOverflow(b)
        return overflow ? .max : sum
    }

    init(plan: FeaturePlan, lateness: EventDuration) {
        self.plan = plan
        self.lateness = lateness.milliseconds
        horizon = plan.longestWindow.milliseconds
        // Saturating: the configured lateness may be any duration, and a trap here is a crash.
        retention = Self.saturatingSum(horizon, lateness.milliseconds)
        evictAfter = Self.saturatingSum(retention, lateness.milliseconds)

        var filters: [FeatureFilter] = []
        var numeric: [EventField] = []
        var strings: [EventField] = []
        func index<T: Equatable>(_ item: T, in list: inout [T]) -> Int {
            if let i = list.firstIndex(of: item) { return i }
            list.append(item)
            return list.count - 1
        }
        for feature in plan.features {
            if let filter = feature.filter, !filter.clauses.isEmpty { _ = index(filter, in: &filters) }
            guard let field = feature.field else { continue }
            if feature.kind == .distinct { _ = index(field, in: &strings) } else { _ = index(field, in: &numeric) }
        }
        self.filters = filters
        numericFields = numeric
        stringFields = strings
        let bits = filters.count + numeric.count + strings.count
        maskWords = (bits + 63) / 64

        var keys: [EventField] = []
        for feature in plan.features { _ = index(feature.key, in: &keys) }
        let horizon = self.horizon
        let maskWords = self.maskWords
        groups = keys.map { key in
            var prefix: [(offset: Int, source: PrefixSource)] = []
            var values: [(offset: Int, numericSlot: Int)] = []
            var stringSlots: [Int] = []
            var windows: [Int64] = []
            var dequeIsMax: [Bool] = []
            var distinctCount = 0
            var compiled: [CompiledFeature] = []
            // Offsets are assigned after all columns are known; first collect sources in order.
            var prefixSources: [PrefixSource] = []
            var valueSlots: [Int] = []
            for (column, feature) in plan.features.enumerated() where feature.key == key {
                let filterBit = feature.filter.flatMap { $0.clauses.isEmpty ? nil : filters.firstIndex(of: $0) }
                var condition = EntryCondition(filterBit: filterBit, presenceBit: nil)
                var scale = NumericScale.minorUnits
                var numericSlot: Int?
                var stringColumn: Int?
                if let field = feature.field {
                    if feature.kind == .distinct {
                        let slot = strings.firstIndex(of: field)!
                        if field.mayBeMissing { condition.presenceBit = filters.count + numeric.count + slot }
                        stringColumn = index(slot, in: &stringSlots)
                    } else {
                        let slot = numeric.firstIndex(of: field)!
                        if field.mayBeMissing { condition.presenceBit = filters.count + slot }
                        numericSlot = slot
                        scale = field.numericScale
                    }
                }
                let windowMs = feature.window?.milliseconds ?? horizon
                var entry = CompiledFeature(
                    outColumn: column, kind: feature.kind, windowMs: windowMs, condition: condition,
                    countColumn: nil, sumColumn: nil, valueColumn: nil, stringColumn: stringColumn, stringHashColumn: nil,
                    cursorSlot: index(windowMs, in: &windows), auxSlot: nil, numericSlot: numericSlot, scale: scale
                )
                switch feature.kind {
                case .count, .sum, .avg:
                    if !condition.isTrivial { entry.countColumn = index(.count(condition), in: &prefixSources) }
                    if let slot = numericSlot { entry.sumColumn = index(.sum(condition, numericSlot: slot), in: &prefixSources) }
                case .min, .max:
                    entry.valueColumn = index(numericSlot!, in: &valueSlots)
                    dequeIsMax.append(feature.kind == .max)
                    entry.auxSlot = dequeIsMax.count - 1
                case .distinct:
                    entry.auxSlot = distinctCount
                    distinctCount += 1
                case .secondsSinceFirst, .secondsSinceLast:
                    break
                }
                compiled.append(entry)
            }
            // Entries carry the mask only when some feature of the key filters or may lack its field:
            // an unfiltered count costs 16 bytes per event (time, payment-id hash), a sum 8 more.
            let groupMaskWords = compiled.contains { !$0.condition.isTrivial } ? maskWords : 0
            var nextOffset = GroupLayout.maskOffset + groupMaskWords
            for source in prefixSources {
                prefix.append((nextOffset, source))
                nextOffset += 1
            }
            let valueBase = nextOffset
            for slot in valueSlots {
                values.append((nextOffset, slot))
                nextOffset += 1
            }
            let stringHashColumns = Array(nextOffset..<(nextOffset + stringSlots.count))
            nextOffset += stringSlots.count
            // Column indices above are positions in the source lists; turn them into entry offsets.
            let prefixBase = GroupLayout.maskOffset + groupMaskWords
            for i in compiled.indices {
                if let c = compiled[i].countColumn { compiled[i].countColumn = prefixBase + c }
                if let c = compiled[i].sumColumn { compiled[i].sumColumn = prefixBase + c }
                if let c = compiled[i].valueColumn { compiled[i].valueColumn = valueBase + c }
                if let c = compiled[i].stringColumn { compiled[i].stringHashColumn = stringHashColumns[c] }
            }
            let signature = compiled.map { f in
                "\(plan.features[f.outColumn].canonicalName)|\(f.windowMs)|\(f.condition.filterBit ?? -1)|\(f.condition.presenceBit ?? -1)|"
                    + "\(f.countColumn ?? -1)|\(f.sumColumn ?? -1)|\(f.valueColumn ?? -1)|\(f.stringColumn ?? -1)|\(f.cursorSlot)|\(f.auxSlot ?? -1)"
            }.joined(separator: "\n") + "\n\(key.name)|\(nextOffset)|\(groupMaskWords)|\(windows)|\(stringSlots.count)"
            return GroupLayout(
                key: key, stride: nextOffset, maskWords: groupMaskWords, prefixColumns: prefix, valueColumns: values,
                stringSlots: stringSlots, stringHashColumns: stringHashColumns, windows: windows, features: compiled,
                dequeIsMax: dequeIsMax, distinctCount: distinctCount,
                dequeFeatures: compiled.indices.filter { compiled[$0].kind == .min || compiled[$0].kind == .max },
                distinctFeatures: compiled.indices.filter { compiled[$0].kind == .distinct },
                storageSignature: signature
            )
        }
        keyStringSlots = keys.map { strings.firstIndex(of: $0) }
    }

    /// Everything the windows need from a batch, extracted once: no event is looked at twice.
    /// `hashing`: also hash each key value and distinct value once with the per-process seeded
    /// `Hasher` (the in-memory store's shard choice, key tables and distinct counts).
    func facts(of events: [PaymentEvent], rates: ExchangeRates, hashing: Bool = false) -> BatchFacts {
        var facts = BatchFacts(
            count: events.count, maskWords: maskWords, numericCount: numericFields.count,
            stringCount: stringFields.count, groupCount: groups.count
        )
        // Events are read in place through a pointer: iterating `enumerated()`, or even subscripting
        // a buffer pointer, copied every event (a dozen string retains and releases each), which
        // cost more than the extraction itself.
        events.withUnsafeBufferPointer { events in
            for i in events.indices { extract(events.baseAddress! + i, index: i, into: &facts, hashing: hashing, rates: rates) }
        }
        return facts
    }

    @inline(__always)
    private func extract(_ event: UnsafePointer<PaymentEvent>, index i: Int, into facts: inout BatchFacts, hashing: Bool, rates: ExchangeRates) {
        let presenceBase = filters.count
        let stringPresenceBase = filters.count + numericFields.count
        facts.times[i] = event.pointee.occurredAt.millisecondsSinceEpoch
        facts.idHashes[i] = StableHash.hash(event.pointee.paymentID)
        let maskBase = i * maskWords
        func set(_ bit: Int) { facts.masks[maskBase + bit >> 6] |= 1 << UInt64(bit & 63) }
        for (bit, filter) in filters.enumerated() where filter.matches(event, rates: rates) { set(bit) }
        for (slot, field) in numericFields.enumerated() {
            if let value = field.windowInteger(of: event, rates: rates) {
                facts.numerics[i * numericFields.count + slot] = value
                set(presenceBase + slot)
            }
        }
        for (slot, field) in stringFields.enumerated() {
            if let value = field.windowString(of: event, rates: rates) {
                facts.strings[i * stringFields.count + slot] = value
                if hashing { facts.stringHashes[i * stringFields.count + slot] = seededHash(value) }
                set(stringPresenceBase + slot)
            }
        }
        for g in groups.indices {
            // A key field that is also counted by a distinct feature is hashed once: its value and
            // hash are the string slot's (the same `windowString`, so the same text).
            if let slot = keyStringSlots[g] {
                guard facts.masks[maskBase + (stringPresenceBase + slot) >> 6] & (1 << UInt64((stringPresenceBase + slot) & 63)) != 0 else { continue }
                facts.keys[i * groups.count + g] = facts.strings[i * stringFields.count + slot]
                if hashing { facts.keyHashes[i * groups.count + g] = facts.stringHashes[i * stringFields.count + slot] }
                continue
            }
            guard let key = groups[g].key.windowString(of: event, rates: rates) else { continue }
            facts.keys[i * groups.count + g] = key
            if hashing { facts.keyHashes[i * groups.count + g] = seededHash(key) }
        }
    }
}

/// Swift's SipHash with this process's random seed: cheap to compare, and not something a customer
/// who controls a key or a distinct value (a device id, an IP) can aim collisions at.
@inline(__always)
func seededHash(_ text: String) -> UInt64 {
    var hasher = Hasher()
    hasher.combine(text)
    return UInt64(UInt(bitPattern: hasher.finalize()))
}

/// Per-event values of one batch, flattened row-major so extraction allocates per batch, not per event.
struct BatchFacts {
    var times: [Int64]
    var idHashes: [UInt64]
    var masks: [UInt64]
    var numerics: [Int64]
    var strings: [String]
    var keys: [String?]
    /// Per-process seeded hash of each key (`Hasher`), when asked for; 0 for a missing key.
    var keyHashes: [UInt64]
    /// `seededHash` of each string, when asked for; 0 for a missing value.
    var stringHashes: [UInt64]
    let maskWords: Int
    let numericCount: Int
    let stringCount: Int
    let groupCount: Int

    init(count: Int, maskWords: Int, numericCount: Int, stringCount: Int, groupCount: Int) {
        times = Array(repeating: 0, count: count)
        idHashes = Array(repeating: 0, count: count)
        masks = Array(repeating: 0, count: count * maskWords)
        numerics = Array(repeating: 0, count: count * numericCount)
        strings = Array(repeating: "", count: count * stringCount)
        keys = Array(repeating: nil, count: count * groupCount)
        keyHashes = Array(repeating: 0, count: count * groupCount)
        stringHashes = Array(repeating: 0, count: count * stringCount)
        self.maskWords = maskWords
        self.numericCount = numericCount
        self.stringCount = stringCount
        self.groupCount = groupCount
    }
}
