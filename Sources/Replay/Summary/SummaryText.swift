import FraudCore
import Reporting

/// The human summary printed at the end of `waqiti replay`.
public enum SummaryText {
    public static func render(_ summary: ReplaySummary) -> String {
        var out = "events     \(Markup.grouped(summary.events))"
        if summary.rejected > 0 { out += " (\(Markup.grouped(summary.rejected)) rejected lines)" }
        if let first = summary.firstEventTime, let last = summary.lastEventTime { out += "  \(first) … \(last)" }
        out += "\n" + redeliveries(summary)
        out += "decisions  " + Outcome.allCases.map { outcome in
            "\(outcome.rawValue) \(Markup.grouped(summary.outcomes[outcome])) (\(Markup.percent(ratio(summary.outcomes[outcome], summary.payments), 2)))"
        }.joined(separator: "  ") + "  (one per payment, its first decision)\n"
        if summary.featuresDegraded > 0 { out += "degraded   \(Markup.grouped(summary.featuresDegraded)) decisions on degraded features\n" }
        if !summary.rulesVersions.isEmpty { out += "rules      \(summary.rulesVersions.joined(separator: ", "))\n" }
        if !summary.modelVersions.isEmpty { out += "model      \(summary.modelVersions.joined(separator: ", "))\n" }
        if let labels = summary.labels { out += "\n" + render(labels) }
        if let model = summary.model {
            out += "\nmodel score over \(Markup.grouped(model.scoredEvents)) labeled events: AUC-ROC \(number(model.aucROC, 4))  average precision \(number(model.averagePrecision, 4))\n"
        }
        out += "\n" + renderRules(summary.rules)
        return out
    }

    /// The redelivered records and the payments they leave, when there are any.
    static func redeliveries(_ summary: ReplaySummary) -> String {
        guard summary.redelivered > 0 else { return "" }
        return "redelivered \(Markup.grouped(summary.redelivered)) records of payments decided before: \(Markup.grouped(summary.payments)) payments, each counted once below\n"
    }

    static func render(_ labels: LabelSummary) -> String {
        var out = "labels     fraud \(Markup.grouped(labels.fraud))  legit \(Markup.grouped(labels.legit))"
        if labels.unlabeled > 0 { out += "  unlabeled \(Markup.grouped(labels.unlabeled))" }
        out += "\n\n"
        var metrics = TextTable(["flagged as", "precision", "recall", "F1", "false-positive rate", "caught", "false alarms"])
        for (name, m) in [("decline", labels.decline), ("review", labels.review), ("decline or review", labels.declineOrReview)] {
            metrics.add([name, number(m.precision, 4), number(m.recall, 4), number(m.f1, 4), number(m.falsePositiveRate, 5), Markup.grouped(m.truePositives), Markup.grouped(m.falsePositives)])
        }
        out += metrics.render()
        if !labels.fraudAmounts.isEmpty {
            out += "\ncaught fraud amount (minor units)\n"
            var amounts = TextTable(["currency", "fraud", "declined", "reviewed", "caught", "share"])
            for a in labels.fraudAmounts {
                amounts.add([a.currency, grouped(a.fraudMinor), grouped(a.declinedMinor), grouped(a.reviewedMinor), grouped(a.caughtMinor), Markup.percent(a.fraudMinor == 0 ? .nan : Double(a.caughtMinor) / Double(a.fraudMinor))])
            }
            out += amounts.render()
        }
        if !labels.scenarios.isEmpty {
            out += "\nrecall by fraud scenario (metadata.scenario)\n"
            var scenarios = TextTable(["scenario", "fraud", "approved", "reviewed", "declined", "recall", "decline recall"])
            for s in labels.scenarios {
                scenarios.add([s.scenario, Markup.grouped(s.fraudEvents), Markup.grouped(s.outcomes.approve), Markup.grouped(s.outcomes.review), Markup.grouped(s.outcomes.decline), percent(s.recall), percent(s.declineRecall)])
            }
            out += scenarios.render()
        }
        return out
    }

    static func renderRules(_ rules: [RuleHits]) -> String {
        guard !rules.isEmpty else { return "no rule matched\n" }
        var table = TextTable(["rule", "action", "hits", "fraud", "legit", "precision"])
        for rule in rules {
            let action = (rule.action?.rawValue ?? "?") + (rule.shadow ? " (shadow)" : "")
            table.add([rule.rule, action, Markup.grouped(rule.hits), Markup.grouped(rule.fraudHits), Markup.grouped(rule.legitHits), number(rule.precision, 4)])
        }
        return "rule hits\n" + table.render()
    }

    /// Baseline and candidate side by side, then the flips.
    public static func render(_ comparison: ReplayComparison) -> String {
        let b = comparison.baseline, c = comparison.candidate, diff = comparison.diff
        var out = "events     \(Markup.grouped(b.events))\n" + redeliveries(b)
        out += "baseline   \(b.rulesVersions.joined(separator: ", ")) / model \(b.modelVersions.joined(separator: ", "))\n"
        out += "candidate  \(c.rulesVersions.joined(separator: ", ")) / model \(c.modelVersions.joined(separator: ", "))\n\n"
        var side = TextTable(["", "baseline", "candidate", "change"])
        for outcome in Outcome.allCases {
            side.add([outcome.rawValue, Markup.grouped(b.outcomes[outcome]), Markup.grouped(c.outcomes[outcome]), signed(c.outcomes[outcome] - b.outcomes[outcome])])
        }
        if let bl = b.labels, let cl = c.labels {
            for (name, bm, cm) in [("decline", bl.decline, cl.decline), ("review", bl.review, cl.review), ("decline or review", bl.declineOrReview, cl.declineOrReview)] {
                side.add(["\(name) precision", number(bm.precision, 4), number(cm.precision, 4), delta(bm.precision, cm.precision)])
                side.add(["\(name) recall", number(bm.recall, 4), number(cm.recall, 4), delta(bm.recall, cm.recall)])
                side.add(["\(name) F1", number(bm.f1, 4), number(cm.f1, 4), delta(bm.f1, cm.f1)])
                side.add(["\(name) FPR", number(bm.falsePositiveRate, 5), number(cm.falsePositiveRate, 5), delta(bm.falsePositiveRate, cm.falsePositiveRate, 5)])
            }
        }
        // Either side's model ("–" for the side without one): --compare-model without --model.
        if b.model != nil || c.model != nil {
            side.add(["AUC-ROC", number(b.model?.aucROC, 4), number(c.model?.aucROC, 4), delta(b.model?.aucROC, c.model?.aucROC)])
            side.add(["average precision", number(b.model?.averagePrecision, 4), number(c.model?.averagePrecision, 4), delta(b.model?.averagePrecision, c.model?.averagePrecision)])
        }
        out += side.render()
        out += "\n\(Markup.grouped(diff.flipped)) payments' decisions flipped (\(Markup.percent(ratio(diff.flipped, diff.events), 3))); risk points changed on \(Markup.grouped(diff.riskPointsChanged)), model score on \(Markup.grouped(diff.scoreChanged))\n"
        if !diff.flips.isEmpty {
            var flips = TextTable(["from → to", "count", "examples"])
            for flip in diff.flips { flips.add(["\(flip.from.rawValue) → \(flip.to.rawValue)", Markup.grouped(flip.count), flip.examples.joined(separator: " ")]) }
            out += flips.render()
        }
        if !diff.rules.isEmpty {
            out += "\nrules whose matches changed\n"
            var rules = TextTable(["rule", "only baseline", "only candidate", "flips"])
            for rule in diff.rules { rules.add([rule.rule, Markup.grouped(rule.onlyBaseline), Markup.grouped(rule.onlyCandidate), flipList(rule.flips)]) }
            out += rules.render()
        }
        let changedGroups = diff.groups.filter { !$0.flips.isEmpty }
        if !changedGroups.isEmpty {
            out += "\nflips by group\n"
            var groups = TextTable(["group", "events", "newly flagged", "newly approved", "flips"])
            for g in changedGroups { groups.add([g.group, Markup.grouped(g.events), Markup.grouped(g.newlyFlagged), Markup.grouped(g.newlyApproved), flipList(g.flips)]) }
            out += groups.render()
        }
        return out
    }

    private static func flipList(_ flips: [Flip]) -> String {
        flips.isEmpty ? "–" : flips.map { "\($0.from.rawValue)→\($0.to.rawValue) \(Markup.grouped($0.count))" }.joined(separator: ", ")
    }

    private static func ratio(_ part: Int, _ whole: Int) -> Double { whole == 0 ? .nan : Double(part) / Double(whole) }
    private static func number(_ value: Double?, _ decimals: Int) -> String { value.map { Markup.fixed($0, decimals) } ?? "–" }
    private static func percent(_ value: Double?) -> String { value.map { Markup.percent($0) } ?? "–" }
    private static func grouped(_ value: Int64) -> String { Markup.grouped(Int(value)) }
    private static func signed(_ value: Int) -> String { value > 0 ? "+" + Markup.grouped(value) : Markup.grouped(value) }

    private static func delta(_ before: Double?, _ after: Double?, _ decimals: Int = 4) -> String {
        guard let before, let after else { return "–" }
        let change = after - before
        return (change > 0 ? "+" : "") + Markup.fixed(change, decimals)
    }
}
