import CPrefetch
import FraudCore
import Synchronization

/// Remembers decisions by payment_id so a redelivered payment gets the identical decision again.
public protocol DecisionCache: Sendable {
    /// The remembered decision of each id, nil where there is none; one lookup per batch.
    func decisions(for paymentIDs: [String]) async -> [Decision?]
    /// Remembers each decision unless one is already remembered for its payment, and returns the
    /// decision that stands for each: the given one, or the one a concurrent caller (another batch,
    /// another instance) remembered first. Publishing the standing decision is what makes a
    /// payment decided twice at once still get one answer.
    func remember(_ decisions: [Decision]) async -> [Decision]
    /// Announces that a later `remember(_:reserved: count)` will remember `count` decisions of
    /// payments not remembered now (`DecisionEngine.prepare` of a batch finished later). A cache
    /// that forgets in insertion order answers lookups meanwhile as it will once they are
    /// remembered, so what a batch prepared in between finds does not depend on whether the one
    /// before it has finished. Returns how many of the `count` it will still hold right after
    /// they are remembered (the last ones remembered; all of them unless `count` exceeds the
    /// capacity).
    func reserve(_ count: Int) async -> Int
    /// `remember`, fulfilling a reservation of `reserved` decisions.
    func remember(_ decisions: [Decision], reserved: Int) async -> [Decision]
}

extension DecisionCache {
    /// A cache without a capacity, or forgetting by time (Redis): nothing to foresee.
    public func reserve(_ count: Int) async -> Int { count }
    public func remember(_ decisions: [Decision], reserved: Int) async -> [Decision] { await remember(decisions) }
}

/// A bounded in-process decision cache: the oldest decision is forgotten first once `capacity`
/// decisions are held. Used when the windows are in memory too (one engine instance owns the
/// partition), and as the fallback of the Redis cache while Redis is down.
///
/// The decisions sit in a ring in insertion order (the oldest is evicted in O(1)); an index finds
/// a payment's slot by a 64-bit hash of its id. The hash only narrows the search: a slot is taken
/// as the payment's only when the decision in it has exactly that id, so two ids with the same
/// hash are two entries.
public final class InMemoryDecisionCache: DecisionCache {
    private struct State {
        var index: SlotIndex
        /// The remembered decisions in insertion order; a ring once `capacity` is reached.
        var ring: DecisionRing
        var next = 0
        /// Decisions ever added to the ring: the one in slot s was the `serial(of: s)`-th.
        var inserted = 0
        /// Decisions announced by `reserve` and not remembered yet.
        var reserved = 0

        /// The insertion number of the decision in `slot`: slots are written in order, round and
        /// round once the ring is full.
        func serial(of slot: Int, capacity: Int) -> Int {
            inserted - 1 - (inserted - 1 - slot) % capacity
        }
    }

    public let capacity: Int
    private let state: Mutex<State>

    public convenience init(capacity: Int) {
        self.init(capacity: capacity, index: SlotIndex(hasher: SeededHash()), chunkSize: DecisionRing.defaultChunkSize)
    }

    /// Chunks of `chunkSize` decisions: the tests' way to cross chunk boundaries with a small cache.
    convenience init(capacity: Int, chunkSize: Int) {
        self.init(capacity: capacity, index: SlotIndex(hasher: SeededHash()), chunkSize: chunkSize)
    }

    /// Every id hashes to `fixedHash`: the tests' way to make all ids collide.
    convenience init(capacity: Int, fixedHash: UInt64) {
        self.init(capacity: capacity, index: SlotIndex(hasher: SeededHash(seed: 0), fixedHash: fixedHash), chunkSize: 2)
    }

    private init(capacity: Int, index: SlotIndex, chunkSize: Int) {
        precondition(capacity > 0, "decision cache capacity must be positive")
        precondition(capacity < 1 << 31, "decision cache capacity must be below 2^31")
        self.capacity = capacity
        state = Mutex(State(index: index, ring: DecisionRing(chunkSize: chunkSize)))
    }

    public func decisions(for paymentIDs: [String]) async -> [Decision?] {
        state.withLock { state in
            let hashes = state.index.hashesPrefetched(paymentIDs)
            // With decisions reserved, the ones they will evict count as forgotten already: the
            // answer is the one the lookup gets once the reserved ones are remembered.
            let oldestKept = state.reserved == 0 ? nil : state.inserted + state.reserved - capacity
            return paymentIDs.indices.map { i in
                guard let slot = state.index.find(paymentIDs[i], hash: hashes[i], in: state.ring).found else { return nil }
                if let oldestKept, state.serial(of: slot, capacity: capacity) < oldestKept { return nil }
                return state.ring[slot]
            }
        }
    }

    public func reserve(_ count: Int) async -> Int {
        state.withLock { $0.reserved += count }
        return min(count, capacity)
    }

    public func remember(_ decisions: [Decision]) async -> [Decision] {
        await remember(decisions, reserved: 0)
    }

    public func remember(_ decisions: [Decision], reserved: Int) async -> [Decision] {
        // Returned as given unless some payment was already decided (a copy only then). The
        // replacements are collected rather than written into a copy as they are found: the
        // optimizer hoists a loop's copy-on-write check out of the loop, which copied every batch.
        var remembered: [(index: Int, decision: Decision)] = []
        state.withLock { state in
            let hashes = state.index.hashesPrefetched(decisions.lazy.map(\.paymentID))
            for (index, decision) in decisions.enumerated() {
                let hash = hashes[index]
                let lookup = state.index.find(decision.paymentID, hash: hash, in: state.ring)
                // A payment already remembered keeps its decision.
                if let slot = lookup.found {
                    remembered.append((index, state.ring[slot]))
                    continue
                }
                if state.ring.count < capacity {
                    state.index.insert(hash: hash, slot: state.ring.count, at: lookup.position)
                    state.ring.append(decision)
                } else {
                    let slot = state.next
                    let evicted = state.ring[slot].paymentID
                    state.index.remove(evicted, hash: state.index.hash(evicted), in: state.ring)
                    state.ring[slot] = decision
                    // The removal may have shifted entries: look the free position up again.
                    state.index.insert(hash: hash, slot: slot, at: nil)
                    state.next = (slot + 1) % capacity
                }
                state.inserted += 1
            }
            state.reserved = max(0, state.reserved - reserved)
        }
        guard !remembered.isEmpty else { return decisions }
        var standing = decisions
        for (index, decision) in remembered { standing[index] = decision }
        return standing
    }

    public var count: Int { state.withLock { $0.index.count } }
}

/// The cache's decisions by slot, in fixed-size chunks instead of one array: growing never copies
/// what is held (one array doubling towards a million decisions moved tens of megabytes under the
/// cache's lock, a stall of every `decide` meanwhile, into fresh pages), and a full cache is as
/// many chunks as it needs, not the next power of two.
struct DecisionRing {
    /// 4,096 decisions: about half a megabyte of chunk, so a chunk is one large allocation.
    static let defaultChunkSize = 4_096

    private var chunks: [[Decision]] = []
    private let chunkSize: Int
    private let shift: Int
    private(set) var count = 0

    /// `chunkSize` is a power of two, so a slot splits into chunk and offset by a shift and a mask.
    init(chunkSize: Int) {
        precondition(chunkSize > 0 && chunkSize.nonzeroBitCount == 1, "chunk size must be a power of two, got \(chunkSize)")
        self.chunkSize = chunkSize
        shift = chunkSize.trailingZeroBitCount
    }

    subscript(slot: Int) -> Decision {
        get { chunks[slot &>> shift][slot & (chunkSize &- 1)] }
        set { chunks[slot &>> shift][slot & (chunkSize &- 1)] = newValue }
    }

    mutating func append(_ decision: Decision) {
        if count & (chunkSize &- 1) == 0 {
            chunks.append([])
            chunks[chunks.count - 1].reserveCapacity(chunkSize)
        }
        chunks[chunks.count - 1].append(decision)
        count += 1
    }
}

/// Payment id → ring slot: a `HashSlotIndex` over the ids' `SeededHash`, each hit confirmed
/// against the id of the decision in the ring.
struct SlotIndex {
    private var table = HashSlotIndex()
    private let hasher: SeededHash
    private let fixedHash: UInt64?

    init(hasher: SeededHash, fixedHash: UInt64? = nil) {
        self.hasher = hasher
        self.fixedHash = fixedHash
    }

    var count: Int { table.count }

    /// The id's hash (`SeededHash`, seeded per cache, so colliding ids cannot be chosen in advance).
    func hash(_ id: String) -> UInt64 {
        fixedHash ?? hasher(id)
    }

    /// The hashes of a batch's ids, with each one's home entry already on its way into the cache:
    /// the index outgrows the caches, and a batch's probes are independent, so their misses can
    /// overlap instead of each stalling the lookup that follows it.
    func hashesPrefetched<IDs: Collection<String>>(_ ids: IDs) -> [UInt64] {
        let hashes = ids.map(hash)
        for hash in hashes { waqiti_prefetch(table.homeAddress(hash: hash)) }
        return hashes
    }

    /// The slot of `id` and the position of its entry if it is in the index; else nil and the
    /// empty position where it would go.
    func find(_ id: String, hash: UInt64, in ring: DecisionRing) -> (found: Int?, position: Int) {
        table.find(hash: hash) { ring[$0].paymentID == id }
    }

    /// Adds `hash` → `slot`; `position` is the empty position `find` returned, if nothing
    /// changed the index since.
    mutating func insert(hash: UInt64, slot: Int, at position: Int?) {
        table.insert(hash: hash, slot: slot, at: position)
    }

    /// Removes the entry of `id` (which must be present).
    mutating func remove(_ id: String, hash: UInt64, in ring: DecisionRing) {
        let lookup = find(id, hash: hash, in: ring)
        precondition(lookup.found != nil, "decision cache index lost payment \(id)")
        table.remove(at: lookup.position)
    }
}
