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
        var byID: [String: Decision] = [:]
        /// Insertion order as a ring, to evict the oldest in O(1).
        var order: [String] = []
        var next = 0
    }

    public let capacity: Int
    private let state = Mutex(State())

    public init(capacity: Int) {
        precondition(capacity > 0, "decision cache capacity must be positive")
        self.capacity = capacity
    }

    public func decisions(for paymentIDs: [String]) async -> [Decision?] {
        state.withLock { state in paymentIDs.map { state.byID[$0] } }
    }

    public func remember(_ decisions: [Decision]) async -> [Decision] {
        state.withLock { state in
            decisions.map { decision in
                if let standing = state.byID[decision.paymentID] { return standing }
                state.byID[decision.paymentID] = decision
                if state.order.count < capacity {
                    state.order.append(decision.paymentID)
                } else {
                    state.byID[state.order[state.next]] = nil
                    state.order[state.next] = decision.paymentID
                    state.next = (state.next + 1) % capacity
                }
                return decision
            }
        }
    }

    public var count: Int { state.withLock { $0.byID.count } }
}
