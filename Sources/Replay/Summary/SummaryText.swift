import FraudCore
import Reporting

/// The human summary printed at the end of `waqiti replay`.
public enum SummaryText {
    public static func render(_ summary: ReplaySummary) -> String {
        var out = eventsLine(summary) + redeliveries(summary) + tooLateLine(summary)
        out += "decisions  " + Outcome.allCases.map { outcome in
            "\(outcome.rawValue) \(Markup.grouped(summary.outcomes[outcome])) (\(Markup.percent(ratio(summary.outcomes[outcome], summary.payments), 2)))"
        }.joined(separator: "  ") + "  (one per payment, its first decision)\n"
        if summary.featuresDegraded > 0 { out += "degraded   \(Markup.grouped(summary.featuresDegraded)) decisions on degraded features\n" }
        if !summary.rulesVersions.isEmpty { out += "rules      \(terminalSafe(summary.rulesVersions.joined(separator: ", ")))\n" }
        if !summary.modelVersions.isEmpty { out += "model      \(terminalSafe(summary.modelVersions.joined(separator: ", ")))\n" }
        if let labels = summary.labels { out += "\n" + render(labels) }
        if let model = summary.model {
            out += "\nmodel score over \(Markup.grouped(model.scoredEvents)) labeled events: AUC-ROC \(number(model.aucROC, 4))  average precision \(number(model.averagePrecision, 4))\n"
        }
        out += "\n" + renderRules(summary.rules)
        return out
    }

    /// Events, rejected lines and the span of event times.
    static func eventsLine(_ summary: ReplaySummary) -> String {
        var out = "events     \(Markup.grouped(summary.events))"
        if summary.rejected > 0 { out += " (\(Markup.grouped(summary.rejected)) rejected lines)" }
        if let first = summary.firstEventTime, let last = summary.lastEventTime { out += "  \(first) … \(last)" }
        return out + "\n"
    }

    /// The events the windows left out for coming too late, when there are any.
    static func tooLateLine(_ summary: ReplaySummary) -> String {
        guard summary.tooLate > 0 else { return "" }
        return "too late   \(Markup.grouped(summary.tooLate)) events came later than the allowed lateness: decided, but not added to the windows\n"
    }

    /// The warning `waqiti replay` prints on stderr when events came too late, nil when none did.
    /// - Parameter lateness: the allowed lateness as given (`--lateness 5m`).
    public static func tooLateWarning(_ summary: ReplaySummary, lateness: String) -> String? {
        guard summary.tooLate > 0 else { return nil }
        return "warning: \(Markup.grouped(summary.tooLate)) of \(Markup.grouped(summary.events)) events came more than the allowed lateness (--lateness \(lateness)) "
            + "behind the newest event time read before them: each was decided, but not added to the windows, so the features of the events after it leave it out "
            + "and the decisions differ from a replay in event-time order. Sort the input by occurred_at, or raise --lateness."
    }

    /// `text` with every control character (C0, DEL, C1) written as `\u{1B}`, so that input
    /// values (payment ids, `metadata.scenario`) cannot send escape sequences to the terminal.
    public static func terminalSafe(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isControl) else { return text }
        var out = ""
        for scalar in text.unicodeScalars {
            if isControl(scalar) { out += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}" } else { out.unicodeScalars.append(scalar) }
        }
        return out
    }

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
    }

    /// The redelivered records and the payments they leave, when there are any.
    static func redeliveries(_ summary: ReplaySummary) -> String {
        guard summary.redelivered > 0 else { return "" }
        var out = "redelivered \(Markup.grouped(summary.redelivered)) records of payments decided before: \(Markup.grouped(summary.payments)) payments, each counted once below\n"
        if summary.reusedPaymentIDs > 0 {
            out += "  \(Markup.grouped(summary.reusedPaymentIDs)) of them another payment under a payment_id already decided (reused id): not decided, so not in the decisions file; reported as dead letters (kind payment_id_reused)\n"
        }
        return out
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

    /// Baseline and candidate side by side (outcomes, label metrics, the model, rule hits,
    /// caught fraud amounts, recall per scenario, each with the change), then the flips.
    public static func render(_ comparison: ReplayComparison) -> String {
        let b = comparison.baseline, c = comparison.candidate, diff = comparison.diff
        var out = eventsLine(b) + redeliveries(b) + tooLateLine(b)
        out += "baseline   \(terminalSafe(b.rulesVersions.joined(separator: ", "))) / model \(terminalSafe(b.modelVersions.joined(separator: ", ")))\n"
        out += "candidate  \(terminalSafe(c.rulesVersions.joined(separator: ", "))) / model \(terminalSafe(c.modelVersions.joined(separator: ", ")))\n\n"
        var side = TextTable(["", "baseline", "candidate", "change"])
        for outcome in Outcome.allCases {
            side.add([outcome.rawValue, Markup.grouped(b.outcomes[outcome]), Markup.grouped(c.outcomes[outcome]), signed(c.outcomes[outcome] - b.outcomes[outcome])])
        }
        if b.featuresDegraded > 0 || c.featuresDegraded > 0 {
            side.add(["degraded", Markup.grouped(b.featuresDegraded), Markup.grouped(c.featuresDegraded), signed(c.featuresDegraded - b.featuresDegraded)])
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
        if let bl = b.labels, let cl = c.labels {
            let amounts = ComparedRows.amounts(bl, cl)
            if !amounts.isEmpty {
                out += "\ncaught fraud amount (minor units; caught = declined + reviewed)\n"
                var table = TextTable(["currency", "fraud", "baseline caught", "candidate caught", "change", "baseline share", "candidate share"])
                for (fraud, bs, cs) in amounts {
                    let (bc, cc) = (bs.caughtMinor, cs.caughtMinor)
                    table.add([fraud.currency, grouped(fraud.fraudMinor), grouped(bc), grouped(cc), signed128(cc - bc),
                               Markup.percent(share(bc, of: fraud.fraudMinor)), Markup.percent(share(cc, of: fraud.fraudMinor))])
                }
                out += table.render()
            }
            let scenarios = ComparedRows.scenarios(bl, cl)
            if !scenarios.isEmpty {
                out += "\nrecall by fraud scenario (metadata.scenario; decline or review)\n"
                var table = TextTable(["scenario", "fraud", "baseline recall", "candidate recall", "change", "baseline decline recall", "candidate decline recall"])
                for (bs, cs) in scenarios {
                    table.add([bs.scenario, Markup.grouped(bs.fraudEvents), percent(bs.recall), percent(cs.recall), percentDelta(bs.recall, cs.recall),
                               percent(bs.declineRecall), percent(cs.declineRecall)])
                }
                out += table.render()
            }
        }
        out += "\n" + renderRules(ComparedRows.rules(b.rules, c.rules))
        out += "\n\(Markup.grouped(diff.flipped)) payments' decisions flipped (\(Markup.percent(ratio(diff.flipped, diff.events), 3))); risk points changed on \(Markup.grouped(diff.riskPointsChanged)), model score on \(Markup.grouped(diff.scoreChanged))\n"
        if !diff.flips.isEmpty {
            var flips = TextTable(["from → to", "count", "examples"])
            for flip in diff.flips { flips.add(["\(flip.from.rawValue) → \(flip.to.rawValue)", Markup.grouped(flip.count), flip.examples.joined(separator: " ")]) }
            out += flips.render()
        }
        if !diff.rules.isEmpty {
            out += "\nrules whose matches or effect (action, points, shadow) changed\n"
            var rules = TextTable(["rule", "only baseline", "only candidate", "effect changed", "flips"])
            for rule in diff.rules { rules.add([rule.rule, Markup.grouped(rule.onlyBaseline), Markup.grouped(rule.onlyCandidate), Markup.grouped(rule.effectChanged), flipList(rule.flips)]) }
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

    /// Both sides' rule hits in one table: each rule's hits under the baseline and the
    /// candidate, the change, and each side's precision.
    static func renderRules(_ rows: [ComparedRows.RuleRow]) -> String {
        guard !rows.isEmpty else { return "no rule matched\n" }
        var table = TextTable(["rule", "action", "baseline hits", "candidate hits", "change", "baseline precision", "candidate precision"])
        for row in rows {
            table.add([row.rule, row.action, Markup.grouped(row.baseline?.hits ?? 0), Markup.grouped(row.candidate?.hits ?? 0),
                       signed((row.candidate?.hits ?? 0) - (row.baseline?.hits ?? 0)), number(row.baseline?.precision, 4), number(row.candidate?.precision, 4)])
        }
        return "rule hits\n" + table.render()
    }

    private static func flipList(_ flips: [Flip]) -> String {
        flips.isEmpty ? "–" : flips.map { "\($0.from.rawValue)→\($0.to.rawValue) \(Markup.grouped($0.count))" }.joined(separator: ", ")
    }

    private static func ratio(_ part: Int, _ whole: Int) -> Double { whole == 0 ? .nan : Double(part) / Double(whole) }
    private static func number(_ value: Double?, _ decimals: Int) -> String { value.map { Markup.fixed($0, decimals) } ?? "–" }
    private static func percent(_ value: Double?) -> String { value.map { Markup.percent($0) } ?? "–" }
    private static func grouped(_ value: Int128) -> String { Markup.grouped(value) }
    private static func signed(_ value: Int) -> String { value > 0 ? "+" + Markup.grouped(value) : Markup.grouped(value) }
    private static func signed128(_ value: Int128) -> String { value > 0 ? "+" + Markup.grouped(value) : Markup.grouped(value) }
    private static func share(_ part: Int128, of whole: Int128) -> Double { whole == 0 ? .nan : Double(part) / Double(whole) }

    private static func percentDelta(_ before: Double?, _ after: Double?) -> String {
        guard let before, let after else { return "–" }
        let change = (after - before) * 100
        return (change > 0 ? "+" : "") + Markup.fixed(change, 1) + " pt"
    }

    private static func delta(_ before: Double?, _ after: Double?, _ decimals: Int = 4) -> String {
        guard let before, let after else { return "–" }
        let change = after - before
        return (change > 0 ? "+" : "") + Markup.fixed(change, decimals)
    }
}
