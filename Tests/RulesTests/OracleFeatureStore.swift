import Features
import FraudCore
import Synchronization

/// A brute-force feature store for unit tests until the real in-memory store is available:
/// keeps every event and recomputes each feature by scanning them.
final class OracleFeatureStore: FeatureStore {
    private let events = Mutex<[PaymentEvent]>([])
    let rates: ExchangeRates

    init(rates: ExchangeRates) { self.rates = rates }

    func process(_ batch: [PaymentEvent], plan: FeaturePlan, mode: StoreMode, into out: inout [Double]) async throws -> BatchReport {
        out.removeAll()
        for event in batch {
            let seen = events.withLock { stored -> [PaymentEvent] in
                if mode == .update, !stored.contains(where: { $0.paymentID == event.paymentID }) { stored.append(event) }
                return stored
            }
            for feature in plan.features { out.append(value(feature, event, seen, lookback: plan.longestWindow)) }
        }
        return BatchReport()
    }

    private func value(_ f: FeatureSpec, _ e: PaymentEvent, _ all: [PaymentEvent], lookback: EventDuration) -> Double {
        guard let key = f.key.string(of: e) else { return .nan }
        let t = e.occurredAt
        let window = f.window ?? lookback
        let inWindow = all.filter { other in
            other.occurredAt > t - window && other.occurredAt <= t && f.key.string(of: other) == key && passes(f.filter, other)
        }
        func number(_ x: PaymentEvent) -> Double? {
            f.field == .amountMinor ? Double(x.amount.minorUnits) : rates.usd(x.amount)
        }
        switch f.kind {
        case .count: return Double(inWindow.count)
        case .sum: return inWindow.compactMap(number).reduce(0, +)
        case .avg:
            let values = inWindow.compactMap(number)
            return values.isEmpty ? .nan : values.reduce(0, +) / Double(values.count)
        case .min: return inWindow.compactMap(number).min() ?? .nan
        case .max: return inWindow.compactMap(number).max() ?? .nan
        case .distinct: return Double(Set(inWindow.compactMap { f.field!.string(of: $0) }).count)
        case .secondsSinceFirst:
            return inWindow.map(\.occurredAt).min().map { Double((t - $0).milliseconds / 1000) } ?? .nan
        case .secondsSinceLast:
            return inWindow.filter { $0.occurredAt < t }.map(\.occurredAt).max().map { Double((t - $0).milliseconds / 1000) } ?? .nan
        }
    }

    private func passes(_ filter: FeatureFilter?, _ e: PaymentEvent) -> Bool {
        guard let filter else { return true }
        return filter.clauses.allSatisfy { clause in
            let v = clause.field.string(of: e) ?? ""
            switch clause.op {
            case .equal, .isIn: return clause.values.contains(v)
            case .notEqual, .notIn: return !clause.values.contains(v)
            }
        }
    }
}
