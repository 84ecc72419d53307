import Features
import FraudCore

/// Which key fields' windows a rules reload restarts.
///
/// The feature stores keep each key field's windows (card, account, …) in a layout that depends on
/// that key field's features and a few plan-wide numbers (docs/features.md, "Plan changes"): when
/// the layout changes, the key field's windows start afresh and its counts, sums and
/// `seconds_since_*` see only the events processed after the reload. Adding one aggregate on
/// `card_fingerprint` restarts every card window. The stores do this silently and by design; this
/// names the key fields so the analyst is told (`waqiti rules check`, the reload log line).
///
/// The layout is recomputed here from the plan, with the same inputs as the stores'
/// (`Features.CompiledPlan`, `GroupLayout.storageSignature`): for each feature of the key field in
/// plan order its canonical name, its window (the plan's longest window for `seconds_since_*`), the
/// index of its `where` filter among the plan's filters, the bit that says whether its field is
/// present (for fields an event may lack: `amount_usd`, `beneficiary_id`, `metadata.*`), and the
/// number of mask words when any of those bits is used. `PlanChangeTests` holds this to the
/// in-memory store's behaviour.
extension FeaturePlan {
    /// The key fields of this plan whose windows the stores start afresh when they move to `next`,
    /// in the order this plan first uses them. Key fields new in `next` are not listed (they have no
    /// windows yet), nor are those `next` drops.
    public func restartedKeyFields(becoming next: FeaturePlan) -> [EventField] {
        let before = PlanLayout(self), after = PlanLayout(next)
        return before.keys.filter { key in
            guard let layout = after.layouts[key] else { return false }
            return layout != before.layouts[key]
        }
    }

    /// This plan with `other`'s features appended (those it lacks, in `other`'s order): how the
    /// engine grows its plan when a reload brings new aggregates. Columns are never renumbered.
    public func appending(_ other: FeaturePlan) -> FeaturePlan {
        var plan = self
        for feature in other.features { plan.register(feature) }
        return plan
    }
}

extension RuleSet {
    /// The key fields whose windows restart when this set replaces `previous` in an engine that
    /// keeps the union of the features it has run (columns are only appended, so dropping a rule
    /// restarts nothing; adding an aggregate restarts its key field, and sometimes others whose
    /// layout shares plan-wide bits). The engine's own plan also holds the model's features and
    /// those of earlier sets; relative to the previous set alone this is what the reload adds.
    public func restartedKeyFields(replacing previous: RuleSet) -> [String] {
        previous.featurePlan.restartedKeyFields(becoming: previous.featurePlan.appending(featurePlan)).map(\.name)
    }
}

/// Per key field, the parts of a plan its window layout depends on.
private struct PlanLayout {
    var keys: [EventField] = []
    var layouts: [EventField: [String]] = [:]

    init(_ plan: FeaturePlan) {
        var filters: [FeatureFilter] = []
        var numeric: [EventField] = []
        var strings: [EventField] = []
        for feature in plan.features {
            if let filter = feature.filter, !filter.clauses.isEmpty, !filters.contains(filter) { filters.append(filter) }
            if !keys.contains(feature.key) { keys.append(feature.key) }
            guard let field = feature.field else { continue }
            if feature.kind == .distinct {
                if !strings.contains(field) { strings.append(field) }
            } else if !numeric.contains(field) {
                numeric.append(field)
            }
        }
        let maskWords = (filters.count + numeric.count + strings.count + 63) / 64
        let horizon = plan.longestWindow.milliseconds
        for key in keys {
            var entries: [String] = []
            var usesMask = false
            for feature in plan.features where feature.key == key {
                let filterBit = feature.filter.flatMap { $0.clauses.isEmpty ? nil : filters.firstIndex(of: $0) }
                var presenceBit: Int?
                if let field = feature.field, PlanLayout.mayBeMissing(field) {
                    presenceBit = feature.kind == .distinct
                        ? strings.firstIndex(of: field).map { filters.count + numeric.count + $0 }
                        : numeric.firstIndex(of: field).map { filters.count + $0 }
                }
                if filterBit != nil || presenceBit != nil { usesMask = true }
                entries.append("\(feature.canonicalName)|\(feature.window?.milliseconds ?? horizon)|\(filterBit ?? -1)|\(presenceBit ?? -1)")
            }
            entries.append("mask words \(usesMask ? maskWords : 0)")
            layouts[key] = entries
        }
    }

    /// Fields some events carry no value for (the stores keep a presence bit for them).
    static func mayBeMissing(_ field: EventField) -> Bool {
        switch field {
        case .beneficiaryID, .amountUSD, .metadata: true
        default: false
        }
    }
}
