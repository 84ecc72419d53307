import FraudCore
import Synchronization

/// Remembers decisions by payment_id so a redelivered payment gets the identical decision again.
public protocol DecisionCache: Sendable {
    /// The remembered decision of each id, nil where there is none; one lookup per batch.
    func decisions(for paymentIDs: [String]) async -> [Decision?]
    func remember(_ decisions: [Decision]) async
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

    public func remember(_ decisions: [Decision]) async {
        state.withLock { state in
            for decision in decisions where state.byID.updateValue(decision, forKey: decision.paymentID) == nil {
                if state.order.count < capacity {
                    state.order.append(decision.paymentID)
                } else {
                    state.byID[state.order[state.next]] = nil
                    state.order[state.next] = decision.paymentID
                    state.next = (state.next + 1) % capacity
                }
            }
        }
    }

    public var count: Int { state.withLock { $0.byID.count } }
}
