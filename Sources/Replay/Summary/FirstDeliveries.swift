import CPrefetch
import FraudCore
import Glibc

/// The payment ids a replay has seen, to tell a payment's first delivery from its redeliveries:
/// the label metrics, rule hits, outcome counts and the diff count each payment once, at its first
/// decision, however often the input carries it. One per replay (`ReplayOutput`), its answer
/// given to every summary and the diff, so each record's id is looked up once.
///
/// Exact: the ids' bytes are kept back to back in one buffer, and a hash match counts only when
/// the stored bytes equal the id's (a collision must not drop a payment from the metrics). Memory
/// grows with the distinct payments replayed: the id's bytes, 8 bytes for where it ends, and 16 to
/// 32 bytes of index (`HashSlotIndex` is kept at most half full), about 45 bytes for a 15-byte id.
/// A table of its own rather than `Set<String>`: a batch's lookups start with their index
/// entries already on the way into the cache (the index outgrows it within a few hundred thousand
/// payments), and the hash is `SeededHash` rather than SipHash; the set's inserts were about 4% of a
/// default replay's CPU time.
public struct FirstDeliveries: Sendable {
    private var index = HashSlotIndex()
    /// The ids seen, one after another; `ends[slot]` is where the slot's id ends.
    private var bytes: [UInt8] = []
    private var ends: [Int] = []
    private let hasher: SeededHash
    /// Every id hashes to this when set: the tests' way to make all ids collide.
    private let fixedHash: UInt64?
    /// Scratch for a batch's hashes (reused).
    private var hashes: [UInt64] = []

    public init() {
        self.init(hasher: SeededHash(), fixedHash: nil)
    }

    init(hasher: SeededHash, fixedHash: UInt64?) {
        self.hasher = hasher
        self.fixedHash = fixedHash
    }

    /// True the first time `paymentID` is given, false for every later delivery.
    public mutating func isFirst(_ paymentID: String) -> Bool {
        var id = paymentID
        return id.withUTF8 { insert($0, hash: hash($0)) }
    }

    /// Per event, in order: whether it redelivers a payment given before (this batch's earlier
    /// events included); appended to `redelivery`.
    public mutating func markRedeliveries(_ events: [PaymentEvent], into redelivery: inout [Bool]) {
        hashes.removeAll(keepingCapacity: true)
        for event in events {
            var id = event.paymentID
            hashes.append(id.withUTF8 { hash($0) })
        }
        for hash in hashes { waqiti_prefetch(index.homeAddress(hash: hash)) }
        for (event, hash) in zip(events, hashes) {
            var id = event.paymentID
            redelivery.append(!id.withUTF8 { insert($0, hash: hash) })
        }
    }

    private func hash(_ id: UnsafeBufferPointer<UInt8>) -> UInt64 {
        fixedHash ?? hasher.hash(id)
    }

    /// Adds `id` unless it is there; true when it was not.
    private mutating func insert(_ id: UnsafeBufferPointer<UInt8>, hash: UInt64) -> Bool {
        let (found, position) = bytes.withUnsafeBufferPointer { stored in
            index.find(hash: hash) { slot in
                let start = slot == 0 ? 0 : ends[slot - 1]
                return ends[slot] - start == id.count && (id.isEmpty || memcmp(stored.baseAddress! + start, id.baseAddress!, id.count) == 0)
            }
        }
        guard found == nil else { return false }
        bytes.append(contentsOf: id)
        ends.append(bytes.count)
        index.insert(hash: hash, slot: ends.count - 1, at: position)
        return true
    }
}
