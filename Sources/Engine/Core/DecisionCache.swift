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
}

/// A bounded in-process decision cache: the oldest decision is forgotten first once `capacity`
/// decisions are held. Used when the windows are in memory too (one engine instance owns the
/// partition), and as the fallback of the Redis cache while Redis is down.
public final class InMemoryDecisionCache: DecisionCache {
    private struct State {
        /// Payment id → its decision's slot in `ring`. Small values keep the table's growth
        /// (a rehash per doubling) cheap; the decisions themselves are never moved by it.
        var slotOf: [String: Int] = [:]
        /// The remembered decisions in insertion order; a ring once `capacity` is reached, so
        /// the oldest is evicted in O(1).
        var ring: [Decision] = []
        var next = 0
    }

    public let capacity: Int
    private let state = Mutex(State())

    public init(capacity: Int) {
        precondition(capacity > 0, "decision cache capacity must be positive")
        self.capacity = capacity
    }

    public func decisions(for paymentIDs: [String]) async -> [Decision?] {
        state.withLock { state in paymentIDs.map { id in state.slotOf[id].map { state.ring[$0] } } }
    }

    public func remember(_ decisions: [Decision]) async -> [Decision] {
        // Returned as given unless some payment was already decided (a copy only then).
        var standing = decisions
        state.withLock { state in
            for (index, decision) in decisions.enumerated() {
                let slot = state.ring.count < capacity ? state.ring.count : state.next
                // One hash of the id in the common case (a new payment); a payment already
                // remembered gets its slot back and keeps its decision.
                if let remembered = state.slotOf.updateValue(slot, forKey: decision.paymentID) {
                    state.slotOf[decision.paymentID] = remembered
                    standing[index] = state.ring[remembered]
                    continue
                }
                if state.ring.count < capacity {
                    state.ring.append(decision)
                } else {
                    state.slotOf[state.ring[slot].paymentID] = nil
                    state.ring[slot] = decision
                    state.next = (slot + 1) % capacity
                }
            }
        }
        return standing
    }

    public var count: Int { state.withLock { $0.slotOf.count } }
}
