import FraudCore
@testable import Features

/// The documented semantics (docs/features.md), computed the slow, obvious way: every read scans
/// every stored event of the key. The stores must agree with it exactly.
///
/// Field values are extracted once per event (debug builds are slow enough without re-reading
/// strings in the inner loop); the window logic itself is the plain definition.
struct WindowOracle {
    /// What one feature sees of one event.
    struct Cell {
        var passes: Bool
        var number: Int64?
        var text: String?
    }

    struct Entry {
        var id: String
        var time: Int64
        var cells: [Cell]
    }

    let plan: FeaturePlan
    let lateness: Int64
    let rates: ExchangeRates
    private let keyFields: [EventField]
    private let columnsByKey: [[Int]]
    private var keys: [[String: (entries: [Entry], newest: Int64)]]
    private var storeNewest = Int64.min

    init(plan: FeaturePlan, lateness: EventDuration = .minutes(5), rates: ExchangeRates = .builtIn) {
        self.plan = plan
        self.lateness = lateness.milliseconds
        self.rates = rates
        let keyFields = plan.features.reduce(into: [EventField]()) { if !$0.contains($1.key) { $0.append($1.key) } }
        self.keyFields = keyFields
        columnsByKey = keyFields.map { key in plan.features.indices.filter { plan.features[$0].key == key } }
        keys = Array(repeating: [:], count: keyFields.count)
    }

    var horizon: Int64 { plan.longestWindow.milliseconds }
    var retention: Int64 { horizon + lateness }
    var evictAfter: Int64 { retention + lateness }

    func text(_ field: EventField, _ e: PaymentEvent) -> String? {
        if field == .amountUSD { return number(field, e).map { String(Double($0) / 1_000_000) } }
        return field.string(of: e)
    }

    func number(_ field: EventField, _ e: PaymentEvent) -> Int64? {
        switch field {
        case .amountMinor: return e.amount.minorUnits
        case .amountUSD: return rates.usd(e.amount).flatMap { Int64(exactly: ($0 * 1_000_000).rounded()) }
        default: return nil
        }
    }

    func passes(_ filter: FeatureFilter?, _ e: PaymentEvent) -> Bool {
        for clause in filter?.clauses ?? [] {
            guard let v = text(clause.field, e) else { return false }
            switch clause.op {
            case .equal: if v != clause.values[0] { return false }
            case .notEqual: if v == clause.values[0] { return false }
            case .isIn: if !clause.values.contains(v) { return false }
            case .notIn: if clause.values.contains(v) { return false }
            }
        }
        return true
    }

    mutating func process(_ events: [PaymentEvent], mode: StoreMode = .update) -> (values: [Double], report: BatchReport) {
        var out: [Double] = []
        var report = BatchReport()
        for e in events {
            let t = e.occurredAt.millisecondsSinceEpoch
            let newestNow = mode == .update ? max(storeNewest, t) : storeNewest
            if mode == .update { storeNewest = newestNow }
            let entry = Entry(id: e.paymentID, time: t, cells: plan.features.map { f in
                Cell(passes: passes(f.filter, e), number: f.field.flatMap { number($0, e) }, text: f.field.flatMap { text($0, e) })
            })
            var row = [Double](repeating: .nan, count: plan.count)
            var duplicate = false, tooLate = false
            for (k, keyField) in keyFields.enumerated() {
                guard let key = text(keyField, e) else {
                    for column in columnsByKey[k] { row[column] = [.count, .sum, .distinct].contains(plan.features[column].kind) ? 0 : .nan }
                    continue
                }
                var state = keys[k][key] ?? ([], .min)
                if !state.entries.isEmpty, state.newest < newestNow - evictAfter { state = ([], .min) }
                let late = !state.entries.isEmpty && t < state.newest - lateness
                let dup = !late && state.entries.contains { $0.id == e.paymentID && $0.time == t }
                tooLate = tooLate || late
                duplicate = duplicate || dup
                if !late, !dup {
                    state.entries.append(entry)
                    if mode == .update {
                        state.newest = max(state.newest, t)
                        state.entries.removeAll { $0.time <= state.newest - retention }
                    }
                }
                for column in columnsByKey[k] { row[column] = read(column, at: t, over: state.entries) }
                if mode == .update { keys[k][key] = state }
            }
            if duplicate { report.duplicates += 1 }
            if tooLate { report.tooLate += 1 }
            out += row
        }
        return (out, report)
    }

    func read(_ column: Int, at t: Int64, over entries: [Entry]) -> Double {
        let f = plan.features[column]
        let w = f.window?.milliseconds ?? horizon
        var count: Int64 = 0, sum: UInt64 = 0, numbers: Int64 = 0
        var low: Int64?, high: Int64?, first: Int64?, last: Int64?
        var texts = Set<String>()
        for entry in entries where entry.time > t - w && entry.time <= t && entry.cells[column].passes {
            let cell = entry.cells[column]
            count += 1
            if let n = cell.number {
                sum += UInt64(n) // amounts are never negative; unsigned holds sums past Int64.max
                numbers += 1
                low = min(low ?? n, n)
                high = max(high ?? n, n)
            }
            if let text = cell.text { texts.insert(text) }
            first = min(first ?? entry.time, entry.time)
            if entry.time < t { last = max(last ?? entry.time, entry.time) }
        }
        let usd = f.field == .amountUSD
        func scaled(_ v: Int64) -> Double { usd ? Double(v) / 1_000_000 : Double(v) }
        switch f.kind {
        case .count: return Double(count)
        case .sum: return usd ? Double(sum) / 1_000_000 : Double(sum)
        case .avg:
            guard numbers > 0 else { return .nan }
            let mean = Double(sum) / Double(numbers)
            return usd ? mean / 1_000_000 : mean
        case .min: return low.map(scaled) ?? .nan
        case .max: return high.map(scaled) ?? .nan
        case .distinct: return Double(texts.count)
        case .secondsSinceFirst: return first.map { Double((t - $0) / 1000) } ?? .nan
        case .secondsSinceLast: return last.map { Double((t - $0) / 1000) } ?? .nan
        }
    }
}

/// Same value, NaN equal to NaN: how feature rows are compared.
func sameFeature(_ a: Double, _ b: Double) -> Bool { (a.isNaN && b.isNaN) || a == b }
