import Features
import FraudCore
import Synchronization

/// A feature store adapter that lets two engines decide the same batch on features computed once.
///
/// `waqiti replay --compare` runs a baseline and a candidate `DecisionEngine` whose rule sets and
/// models compiled into one shared plan (the union of both). Each batch goes to the baseline first:
/// its store call computes the features and keeps them; the candidate's identical call (same
/// events, same plan) gets the kept matrix instead of updating the windows a second time. Any
/// call that does not match the kept batch computes afresh, so a mismatch can cost time but never
/// correctness. Every computed batch is also handed to `onComputed` (the `--features-out` writer).
public final class SharedFeatureStore: FeatureStore {
    private struct Kept {
        var paymentIDs: [String]
        var plan: FeaturePlan
        var mode: StoreMode
        var values: [Double]
        var report: BatchReport
    }

    private let inner: any FeatureStore
    private let kept = Mutex<Kept?>(nil)
    private let onComputed: @Sendable ([PaymentEvent], FeaturePlan, [Double]) throws -> Void
    /// Store calls answered from the kept batch (the candidate's share of the work saved).
    private let reusedCount = Mutex(0)

    public init(_ inner: any FeatureStore, onComputed: @escaping @Sendable ([PaymentEvent], FeaturePlan, [Double]) throws -> Void = { _, _, _ in }) {
        self.inner = inner
        self.onComputed = onComputed
    }

    public var reusedBatches: Int { reusedCount.withLock { $0 } }

    public func process(_ events: [PaymentEvent], plan: FeaturePlan, mode: StoreMode, into out: inout [Double]) async throws -> BatchReport {
        let reused: BatchReport? = kept.withLock { kept in
            guard let match = kept, match.mode == mode, match.plan == plan, match.paymentIDs.count == events.count,
                  zip(match.paymentIDs, events).allSatisfy({ $0 == $1.paymentID }) else { return nil }
            out = match.values
            kept = nil
            return match.report
        }
        if let reused {
            reusedCount.withLock { $0 += 1 }
            return reused
        }
        let report = try await inner.process(events, plan: plan, mode: mode, into: &out)
        try onComputed(events, plan, out)
        let values = out
        kept.withLock { $0 = Kept(paymentIDs: events.map(\.paymentID), plan: plan, mode: mode, values: values, report: report) }
        return report
    }

    /// Drops the kept batch (call between batches when only one engine decides).
    public func forget() { kept.withLock { $0 = nil } }
}
