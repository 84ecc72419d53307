import Features
import FraudCore
import Logging
import Synchronization

/// Whether the shared (Redis) feature store is being used, as health and metrics report it.
public enum SharedStoreState: Sendable, Equatable {
    /// No feature is configured to live in Redis.
    case notConfigured
    case healthy
    /// Redis failed; features come from local windows until a probe succeeds.
    case degraded(reason: String)
}

/// Computes a batch's features from the configured stores and falls back to local windows when
/// the shared store is unreachable.
///
/// The local in-memory store keeps every feature of the plan, including the ones configured for
/// Redis: a Redis outage then degrades to this instance's own recent history rather than to empty
/// windows. Features configured for Redis take Redis's values whenever Redis answers.
public final class FeatureRouter: Sendable {
    /// What one batch's features came to.
    public struct Result: Sendable {
        public var values: [Double]
        /// True when some Redis-configured feature was read from local windows.
        public var degraded: Bool
        public var report: BatchReport
    }

    private struct Routing: Sendable {
        let plan: FeaturePlan
        /// The Redis-configured features, in their own plan; `sharedColumns[i]` is the column of
        /// the shared plan's i-th feature in the full plan.
        let sharedPlan: FeaturePlan
        let sharedColumns: [Int]
    }


    private let local: any FeatureStore
    private let shared: (any FeatureStore)?
    private let storeOf: @Sendable (FeatureSpec) -> FeatureStoreKind
    private let probe: RecoveryProbe
    private let logger: Logger
    private let routing = Mutex<Routing?>(nil)
    private let state: Mutex<SharedStoreState>
    private let onStateChange: @Sendable (SharedStoreState) -> Void

    /// - Parameters:
    ///   - local: the in-memory store; always updated with every feature.
    ///   - shared: the Redis store, or nil when no feature lives in Redis.
    ///   - storeOf: which store a feature is configured for.
    ///   - probeInterval: while degraded, how often Redis is asked whether it is back.
    ///   - ping: whether the shared store answers now, asked off the decision path while degraded
    ///     (`RecoveryProbe`); the first batch after an answer uses the store again. Nil: one
    ///     batch per interval tries the store itself.
    ///   - onStateChange: called once per change of the shared store's state (metrics, health).
    public init(
        local: any FeatureStore, shared: (any FeatureStore)?, storeOf: @escaping @Sendable (FeatureSpec) -> FeatureStoreKind,
        probeInterval: Duration, ping: RecoveryProbe.Ping? = nil, logger: Logger,
        onStateChange: @escaping @Sendable (SharedStoreState) -> Void = { _ in }
    ) {
        self.local = local
        self.shared = shared
        self.storeOf = storeOf
        self.probe = RecoveryProbe(interval: probeInterval, ping: ping)
        self.logger = logger
        self.onStateChange = onStateChange
        self.state = Mutex(shared == nil ? .notConfigured : .healthy)
    }

    public var sharedState: SharedStoreState { state.withLock { $0 } }

    /// Waits for a recovery ping in flight (tests: its answer counts for the next batch).
    func settleProbe() async { await probe.settle() }

    public func features(for events: [PaymentEvent], plan: FeaturePlan, mode: StoreMode) async throws -> Result {
        var values: [Double] = []
        let outcome = try await features(for: events, plan: plan, mode: mode, into: &values)
        return Result(values: values, degraded: outcome.degraded, report: outcome.report)
    }

    /// `features(for:plan:mode:)` into a buffer the caller keeps between batches (its contents are
    /// replaced; its capacity is reused), so a batch's feature rows take no fresh memory.
    public func features(
        for events: [PaymentEvent], plan: FeaturePlan, mode: StoreMode, into values: inout [Double]
    ) async throws -> (degraded: Bool, report: BatchReport) {
        let routing = routing(for: plan)
        var report = try await local.process(events, plan: plan, mode: mode, into: &values)
        guard let shared, routing.sharedPlan.count > 0 else {
            return (false, report)
        }
        guard shouldTryShared() else {
            return (true, report)
        }
        var sharedValues: [Double] = []
        do {
            // Redis decides what is a duplicate across instances; its report wins when it answers.
            report = try await processShared(shared, events, plan: routing.sharedPlan, mode: mode, into: &sharedValues)
        } catch {
            // Unavailable or answering nonsense: either way the shared windows cannot be trusted
            // for this batch, and deciding on local windows beats not deciding.
            transition(to: .degraded(reason: "\(error)"))
            return (true, report)
        }
        transition(to: .healthy)
        let width = plan.count, sharedWidth = routing.sharedPlan.count
        for row in 0..<events.count {
            for (sharedColumn, column) in routing.sharedColumns.enumerated() {
                values[row * width + column] = sharedValues[row * sharedWidth + sharedColumn]
            }
        }
        return (false, report)
    }

    /// One Redis call, sent a second time on a fresh connection if the first failed while Redis
    /// was healthy. The Redis store sends the identical batch again as a recovery (`LogScript`'s
    /// recover action: it appends only the batch's entries the log does not hold yet), so a batch
    /// whose reply was lost or late gets exactly the values one call would have given. Without the retry a single slow reply on a loaded host
    /// decides the batch on local windows and leaves its events out of Redis, so every later
    /// event of those keys reads windows that are short by them. While degraded, a probe is not
    /// retried: a down Redis costs one attempt per probe interval.
    private func processShared(
        _ shared: any FeatureStore, _ events: [PaymentEvent], plan: FeaturePlan, mode: StoreMode, into values: inout [Double]
    ) async throws -> BatchReport {
        do {
            return try await shared.process(events, plan: plan, mode: mode, into: &values)
        } catch FeatureStoreError.unavailable(let reason) where sharedState == .healthy {
            logger.warning("Redis failed a batch; sending it once more before deciding on local windows", metadata: [
                "reason": "\(reason)", "events": "\(events.count)",
            ])
            return try await shared.process(events, plan: plan, mode: mode, into: &values)
        }
    }

    /// While degraded, a batch uses Redis only once a recovery ping has answered (`RecoveryProbe`).
    private func shouldTryShared() -> Bool {
        guard case .degraded = sharedState else { return true }
        return probe.mayTry()
    }

    private func transition(to newState: SharedStoreState) {
        if newState != .healthy { probe.failed() }
        let changed = state.withLock { state -> Bool in
            switch (state, newState) {
            case (.healthy, .healthy), (.degraded, .degraded): return false
            default:
                state = newState
                return true
            }
        }
        guard changed else { return }
        switch newState {
        case .degraded(let reason):
            logger.warning("feature store degraded: Redis unavailable, deciding on local windows", metadata: ["reason": "\(reason)"])
        case .healthy:
            logger.notice("feature store recovered: Redis answers again")
        case .notConfigured:
            break
        }
        onStateChange(newState)
    }

    private func routing(for plan: FeaturePlan) -> Routing {
        routing.withLock { cached in
            if let cached, cached.plan == plan { return cached }
            var sharedPlan = FeaturePlan()
            var columns: [Int] = []
            for (column, feature) in plan.features.enumerated() where storeOf(feature) == .redis {
                sharedPlan.register(feature)
                columns.append(column)
            }
            let fresh = Routing(plan: plan, sharedPlan: sharedPlan, sharedColumns: columns)
            cached = fresh
            return fresh
        }
    }
}
