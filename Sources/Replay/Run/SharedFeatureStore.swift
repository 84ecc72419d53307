import Features
import FraudCore
import Synchronization

/// The replay's feature store: computes every batch once over the union plan of everything the
/// replay needs and hands each caller its own plan's columns.
///
/// `waqiti replay --compare` runs a baseline and a candidate `DecisionEngine` whose rule sets and
/// models may read different features. Each batch goes to the baseline first: its store call
/// computes the union plan's features and keeps them; the candidate's call for the same events
/// (`consumers - 1` further calls) gets its columns from the kept matrix instead of updating the
/// windows a second time. A call for other events computes afresh, so a mismatch can cost time
/// but never correctness. Every computed batch is handed to `onComputed` (`--features-out`).
public final class SharedFeatureStore: FeatureStore {
    private struct Kept {
        var paymentIDs: [String]
        var mode: StoreMode
        var values: [Double]
        var report: BatchReport
        var remainingUses: Int
    }

    public let union: FeaturePlan
    private let inner: any FeatureStore
    private let consumers: Int
    private let kept = Mutex<Kept?>(nil)
    private let projections = Mutex<[FeaturePlan: [Int]]>([:])
    private let onComputed: @Sendable ([PaymentEvent], FeaturePlan, [Double]) throws -> Void
    private let reusedCount = Mutex(0)

    /// - Parameters:
    ///   - union: every feature any caller will ask for (callers' plans must be subsets).
    ///   - consumers: how many callers decide each batch (2 when comparing).
    public init(_ inner: any FeatureStore, union: FeaturePlan, consumers: Int = 1,
                onComputed: @escaping @Sendable ([PaymentEvent], FeaturePlan, [Double]) throws -> Void = { _, _, _ in }) {
        self.inner = inner
        self.union = union
        self.consumers = max(1, consumers)
        self.onComputed = onComputed
    }

    /// Store calls answered from a kept batch (the work the candidate did not repeat).
    public var reusedBatches: Int { reusedCount.withLock { $0 } }

    public func process(_ events: [PaymentEvent], plan: FeaturePlan, mode: StoreMode, into out: inout [Double]) async throws -> BatchReport {
        guard let columns = projection(for: plan) else {
            // A feature outside the union (a rule set reloaded mid-replay): compute it directly.
            return try await inner.process(events, plan: plan, mode: mode, into: &out)
        }
        let reused: (values: [Double], report: BatchReport)? = kept.withLock { kept in
            guard let match = kept, match.mode == mode, match.paymentIDs.count == events.count,
                  zip(match.paymentIDs, events).allSatisfy({ $0 == $1.paymentID }) else { return nil }
            kept!.remainingUses -= 1
            if kept!.remainingUses <= 0 { kept = nil }
            return (match.values, match.report)
        }
        if let reused {
            reusedCount.withLock { $0 += 1 }
            project(reused.values, rows: events.count, plan: plan, columns: columns, into: &out)
            return reused.report
        }
        // The union itself is computed into the caller's buffer, which the engine reuses from
        // batch to batch; another plan is projected from the union computed aside.
        let inPlace = plan == union
        var values: [Double] = []
        let report = inPlace
            ? try await inner.process(events, plan: union, mode: mode, into: &out)
            : try await inner.process(events, plan: union, mode: mode, into: &values)
        if inPlace { values = out }
        try onComputed(events, union, values)
        if consumers > 1 {
            let ids = events.map(\.paymentID)
            let snapshot = values
            kept.withLock { $0 = Kept(paymentIDs: ids, mode: mode, values: snapshot, report: report, remainingUses: consumers - 1) }
        }
        if !inPlace { project(values, rows: events.count, plan: plan, columns: columns, into: &out) }
        return report
    }

    /// The union columns of `plan`'s features in order; nil when some feature is not in the union.
    private func projection(for plan: FeaturePlan) -> [Int]? {
        if let cached = projections.withLock({ $0[plan] }) { return cached }
        var columns: [Int] = []
        for feature in plan.features {
            guard let column = union.column(of: feature) else { return nil }
            columns.append(column)
        }
        projections.withLock { $0[plan] = columns }
        return columns
    }

    private func project(_ values: [Double], rows: Int, plan: FeaturePlan, columns: [Int], into out: inout [Double]) {
        if plan == union {
            out = values
            return
        }
        let width = union.count
        out.removeAll(keepingCapacity: true)
        out.reserveCapacity(rows * columns.count)
        for row in 0..<rows {
            let base = row * width
            for column in columns { out.append(values[base + column]) }
        }
    }
}
