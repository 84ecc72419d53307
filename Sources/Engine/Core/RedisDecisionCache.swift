import FraudCore
import Logging
import Synchronization

/// The decision cache of an engine whose windows are in Redis: decisions are kept in Redis under
/// `waqiti:decision:<payment_id>` for the idempotency horizon, so a redelivered payment gets the
/// identical decision after a restart and on whichever instance the redelivery lands.
///
/// One round trip per batch for the lookup and one for remembering. Every decision is also kept
/// in a local `InMemoryDecisionCache`: while Redis is unreachable the cache answers from it (log
/// once per change of state; once per `probeInterval` the store is pinged off the decision path,
/// and the first batch after an answer uses Redis again: `RecoveryProbe`), and a decision made
/// during an outage is still found by this instance after Redis returns.
public final class RedisDecisionCache: DecisionCache {
    public static let keyPrefix = "waqiti:decision:"

    private let store: any SharedDecisionStore
    private let local: InMemoryDecisionCache
    private let horizon: Duration
    private let probe: RecoveryProbe
    private let logger: Logger
    private let onStateChange: @Sendable (_ degraded: Bool) -> Void
    /// With `event_fingerprint`, so every instance can tell a redelivery from a reused id.
    private let encoder = DecisionEncoder(includesFingerprint: true)
    private let decoder = DecisionDecoder()
    /// Why Redis is not used, nil while it answers.
    private let unavailable = Mutex<String?>(nil)

    /// - Parameters:
    ///   - local: remembers every decision too and answers while Redis is down.
    ///   - horizon: how long Redis keeps a decision (`idempotency.horizon`).
    ///   - probeInterval: while Redis is down, how often the store is pinged (`SharedDecisionStore.ping`).
    ///   - onStateChange: called once per change between Redis answering and not (metrics).
    public init(
        store: any SharedDecisionStore, local: InMemoryDecisionCache, horizon: Duration, probeInterval: Duration, logger: Logger,
        onStateChange: @escaping @Sendable (_ degraded: Bool) -> Void = { _ in }
    ) {
        self.store = store
        self.local = local
        self.horizon = horizon
        self.probe = RecoveryProbe(interval: probeInterval, ping: { [store] in await store.ping() })
        self.logger = logger
        self.onStateChange = onStateChange
    }

    /// Why Redis is not used right now, nil while it answers.
    public var unavailableReason: String? { unavailable.withLock { $0 } }

    /// Waits for a recovery ping in flight (tests: its answer counts for the next batch).
    func settleProbe() async { await probe.settle() }

    public func decisions(for paymentIDs: [String]) async -> [Decision?] {
        let remembered = await local.decisions(for: paymentIDs)
        guard shouldTryStore() else { return remembered }
        let stored: [[UInt8]?]
        do {
            stored = try await store.values(of: paymentIDs.map { Self.keyPrefix + $0 })
        } catch {
            markUnavailable(error)
            return remembered
        }
        markAvailable()
        return paymentIDs.indices.map { index in
            stored[index].flatMap { decode($0, paymentID: paymentIDs[index]) } ?? remembered[index]
        }
    }

    public func remember(_ decisions: [Decision]) async -> [Decision] {
        guard !decisions.isEmpty else { return [] }
        guard shouldTryStore() else { return await local.remember(decisions) }
        let existing: [[UInt8]?]
        do {
            existing = try await store.storeIfAbsent(decisions.map { (Self.keyPrefix + $0.paymentID, encoder.encode($0)) }, ttl: horizon)
        } catch {
            markUnavailable(error)
            return await local.remember(decisions)
        }
        markAvailable()
        let standing = decisions.indices.map { index in
            existing[index].flatMap { decode($0, paymentID: decisions[index].paymentID) } ?? decisions[index]
        }
        return await local.remember(standing)
    }

    /// A stored value that does not decode (written by an incompatible version, or corrupted) is
    /// treated as absent: deciding again beats failing the batch.
    private func decode(_ bytes: [UInt8], paymentID: String) -> Decision? {
        do {
            return try decoder.decode(bytes)
        } catch {
            logger.error("unreadable decision in Redis; deciding the payment again", metadata: [
                "payment_id": "\(paymentID)", "error": "\(error)",
            ])
            return nil
        }
    }

    private func shouldTryStore() -> Bool {
        guard unavailableReason != nil else { return true }
        return probe.mayTry()
    }

    private func markUnavailable(_ error: any Error) {
        let reason = "\(error)"
        probe.failed()
        let changed = unavailable.withLock { unavailable in
            defer { unavailable = reason }
            return unavailable == nil
        }
        if changed {
            onStateChange(true)
            logger.warning("decision cache degraded: Redis unavailable, remembering decisions in this instance only", metadata: ["reason": "\(reason)"])
        }
    }

    private func markAvailable() {
        let changed = unavailable.withLock { unavailable in
            defer { unavailable = nil }
            return unavailable != nil
        }
        if changed {
            onStateChange(false)
            logger.notice("decision cache recovered: Redis answers again")
        }
    }
}
