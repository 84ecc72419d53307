import FraudCore
import Reporting

/// One replayed configuration as the report shows it: the summary and the score histogram.
public struct ReplayRun: Sendable {
    public var name: String
    public var summary: ReplaySummary
    public var scores: ScoreHistogram

    public init(name: String, summary: ReplaySummary, scores: ScoreHistogram) {
        self.name = name
        self.summary = summary
        self.scores = scores
    }
}

/// The self-contained HTML backtest report (`waqiti replay --report FILE.html`).
///
/// Tables carry ids (`outcomes`, `confusion`, `metrics`, `rules`, `scenarios`, `amounts`,
/// `flips`, `rule-changes`, `groups`, `side-by-side`, `amounts-side-by-side`,
/// `scenarios-side-by-side`) so scripts and tests can find the numbers.
public struct ReplayReport: Sendable {
    public var run: ReplayRun
    public var candidate: ReplayRun?
    public var diff: DecisionDiff?
    /// What was replayed (input, rules, model), shown under the title.
    public var source: String

    public init(run: ReplayRun, candidate: ReplayRun? = nil, diff: DecisionDiff? = nil, source: String) {
        self.run = run
        self.candidate = candidate
        self.diff = diff
        self.source = source
    }

    public func html() -> String {
        var page = HTMLPage(title: candidate == nil ? "Waqiti replay report" : "Waqiti replay comparison", subtitle: source)
        let summary = run.summary
        page.append(.tiles(headline(summary)))
        if let candidate, let diff { appendComparison(&page, candidate: candidate, diff: diff) }
        page.append(.heading("Decisions over time" + (candidate == nil ? "" : " (\(run.name))")))
        appendOutcomes(&page, summary)
        if summary.labels != nil { appendLabels(&page, summary) }
        // Either side's model: `--compare-model` without `--model` scores only the candidate.
        if summary.model != nil || candidate?.summary.model != nil { appendModel(&page) }
        page.append(.heading("Rule hits" + (candidate == nil ? "" : " (\(run.name))")))
        page.append(.table(rulesTable(summary.rules, id: "rules")))
        if let candidate {
            page.append(.heading("Rule hits (\(candidate.name))"))
            page.append(.table(rulesTable(candidate.summary.rules, id: "candidate-rules")))
        }
        return page.html()
    }

    private func headline(_ summary: ReplaySummary) -> [(label: String, value: String)] {
        var tiles: [(label: String, value: String)] = [("events", Markup.grouped(summary.events))]
        if summary.rejected > 0 { tiles.append(("rejected lines", Markup.grouped(summary.rejected))) }
        if summary.tooLate > 0 { tiles.append(("too late (not in the windows)", Markup.grouped(summary.tooLate))) }
        if summary.redelivered > 0 {
            tiles.append(("redelivered (counted once)", Markup.grouped(summary.redelivered)))
            tiles.append(("payments", Markup.grouped(summary.payments)))
            if summary.reusedPaymentIDs > 0 { tiles.append(("payment_id reused", Markup.grouped(summary.reusedPaymentIDs))) }
        }
        for outcome in Outcome.allCases {
            tiles.append((outcome.rawValue, Markup.percent(ratio(summary.outcomes[outcome], summary.payments), 2)))
        }
        if let labels = summary.labels {
            tiles.append(("fraud events", Markup.grouped(labels.fraud)))
            tiles.append(("recall (decline or review)", optional(labels.declineOrReview.recall, percent: true)))
            tiles.append(("precision (decline or review)", optional(labels.declineOrReview.precision, percent: true)))
            tiles.append(("false-positive rate", optional(labels.declineOrReview.falsePositiveRate, percent: true, decimals: 3)))
        }
        if let model = summary.model { tiles.append(("model AUC-ROC", optional(model.aucROC))) }
        return tiles
    }

    private func appendOutcomes(_ page: inout HTMLPage, _ summary: ReplaySummary) {
        let buckets = summary.timeline
        if !buckets.isEmpty {
            let labels = buckets.map { label(for: $0) }
            let series = [
                SVGChart.Series(name: "approve", color: Palette.approve, values: buckets.map { Double($0.outcomes.approve) }),
                SVGChart.Series(name: "review", color: Palette.review, values: buckets.map { Double($0.outcomes.review) }),
                SVGChart.Series(name: "decline", color: Palette.decline, values: buckets.map { Double($0.outcomes.decline) }),
            ]
            page.append(.chart(SVGChart(.stackedArea(labels: labels, series: series), xLabel: "event time (UTC), \(buckets[0].minutes)-minute buckets", yLabel: "decisions", width: 1100, height: 300, id: "timeline"),
                               caption: "Decision mix per \(buckets[0].minutes)-minute bucket of event time"))
            let flagged = buckets.map { Double($0.outcomes.review + $0.outcomes.decline) }
            if summary.labels != nil {
                let fraudSeries = [
                    SVGChart.Series(name: "declined or reviewed", color: Palette.review, values: flagged),
                    SVGChart.Series(name: "fraud (label)", color: Palette.fraud, values: buckets.map { Double($0.fraud) }),
                ]
                // Lines, not stacked: fraud that was flagged is in both series.
                page.append(.chart(SVGChart(.lines(labels: labels, series: fraudSeries), xLabel: "event time (UTC)", yLabel: "events", width: 1100, height: 220, id: "flagged-timeline"),
                                   caption: "Flagged decisions and labeled fraud per bucket (each its own line; flagged fraud counts in both)"))
            }
        }
        var table = Table(caption: "Payments by the outcome of their first decision (a redelivery is not counted again)", header: ["outcome", "payments", "share"], rows: [], id: "outcomes")
        for outcome in Outcome.allCases {
            table.rows.append([Table.Cell(outcome.rawValue), .number(summary.outcomes[outcome]), .number(Markup.percent(ratio(summary.outcomes[outcome], summary.payments), 2))])
        }
        page.append(.table(table))
    }

    private func label(for bucket: TimelineBucket) -> String {
        let text = RFC3339.format(bucket.start)  // 2026-01-01T00:00:00.000Z
        let date = String(text.prefix(10)), time = String(text.dropFirst(11).prefix(5))
        return bucket.minutes >= 1440 ? date : (time == "00:00" ? date : String(date.dropFirst(5)) + " " + time)
    }

    private func appendLabels(_ page: inout HTMLPage, _ summary: ReplaySummary) {
        guard let labels = summary.labels else { return }
        page.append(.heading("Against the labels"))
        var confusion = Table(caption: "Confusion matrix (rows: label, columns: decision)", header: ["label", "approve", "review", "decline", "total"], rows: [], id: "confusion")
        for (name, counts) in [("fraud", labels.confusion.fraud), ("legit", labels.confusion.legit)] {
            confusion.rows.append([Table.Cell(name), .number(counts.approve), .number(counts.review), .number(counts.decline), .number(counts.total)])
        }
        page.append(.table(confusion))
        var metrics = Table(caption: "Label metrics by what counts as flagged", header: ["flagged as", "precision", "recall", "F1", "false-positive rate", "true positives", "false positives"], rows: [], id: "metrics")
        for (name, m) in [("decline", labels.decline), ("review", labels.review), ("decline or review", labels.declineOrReview)] {
            metrics.rows.append([Table.Cell(name), .number(optional(m.precision)), .number(optional(m.recall)), .number(optional(m.f1)),
                                 .number(optional(m.falsePositiveRate, decimals: 5)), .number(m.truePositives), .number(m.falsePositives)])
        }
        page.append(.table(metrics))
        if !labels.fraudAmounts.isEmpty {
            var amounts = Table(caption: "Fraud amount caught, per currency (minor units)", header: ["currency", "fraud", "declined", "reviewed", "caught", "share caught"], rows: [], id: "amounts")
            for a in labels.fraudAmounts {
                amounts.rows.append([Table.Cell(a.currency), .number(Markup.grouped(a.fraudMinor)), .number(Markup.grouped(a.declinedMinor)), .number(Markup.grouped(a.reviewedMinor)), .number(Markup.grouped(a.caughtMinor)),
                                     .number(Markup.percent(a.fraudMinor == 0 ? .nan : Double(a.caughtMinor) / Double(a.fraudMinor)))])
            }
            page.append(.table(amounts))
        }
        if !labels.scenarios.isEmpty {
            var scenarios = Table(caption: "Recall per fraud scenario (metadata.scenario)", header: ["scenario", "fraud events", "approved", "reviewed", "declined", "recall", "decline recall"], rows: [], id: "scenarios")
            for s in labels.scenarios {
                scenarios.rows.append([Table.Cell(s.scenario), .number(s.fraudEvents), .number(s.outcomes.approve), .number(s.outcomes.review), .number(s.outcomes.decline),
                                       .number(optional(s.recall, percent: true)), .number(optional(s.declineRecall, percent: true))])
            }
            page.append(.table(scenarios))
        }
    }

    private func appendModel(_ page: inout HTMLPage) {
        page.append(.heading("Model score"))
        let bins = 50
        // The baseline's scores, or the candidate's when only the candidate has a model.
        let scored = run.summary.model == nil ? candidate ?? run : run
        let coarse = scored.scores.coarse(bins: bins)
        let edges = (0...bins).map { Double($0) / Double(bins) }
        let distribution = SVGChart(.histogram(edges: edges, series: [
            SVGChart.Series(name: "legit", color: Palette.legit, values: coarse.legit.map(Double.init)),
            SVGChart.Series(name: "fraud", color: Palette.fraud, values: coarse.fraud.map(Double.init)),
        ], logScale: true), xLabel: "model score", yLabel: "events (log scale)", width: 1100, height: 280, id: "score-distribution")
        page.append(.chart(distribution, caption: "Score distribution by label (\(bins) bins)" + (candidate == nil ? "" : ", \(scored.name)")))
        // (run, is the candidate) for each side with a model; the candidate's curve is dashed.
        let runs = ([(run, false)] + (candidate.map { [($0, true)] } ?? [])).filter { $0.0.summary.model != nil }
        let roc = runs.map { run, isCandidate in
            SVGChart.Curve(name: "\(run.name) AUC \(optional(run.summary.model?.aucROC))", color: isCandidate ? Palette.candidate : Palette.baseline, points: run.scores.rocCurve.thinned(to: 400), dashed: isCandidate)
        }
        let pr = runs.map { run, isCandidate in
            SVGChart.Curve(name: "\(run.name) AP \(optional(run.summary.model?.averagePrecision))", color: isCandidate ? Palette.candidate : Palette.baseline, points: run.scores.precisionRecallCurve.thinned(to: 400), dashed: isCandidate)
        }
        page.append(.chartRow([
            (SVGChart(.unitCurves(roc, diagonal: true), xLabel: "false-positive rate", yLabel: "true-positive rate", width: 540, height: 400, id: "roc"), "ROC curve"),
            (SVGChart(.unitCurves(pr, diagonal: false), xLabel: "recall", yLabel: "precision", width: 540, height: 400, id: "precision-recall"), "Precision-recall curve"),
        ]))
    }

    private func rulesTable(_ rules: [RuleHits], id: String) -> Table {
        var table = Table(header: ["rule", "action", "hits", "fraud hits", "legit hits", "precision"], rows: [], id: id)
        for rule in rules {
            let action = (rule.action?.rawValue ?? "?") + (rule.shadow ? " (shadow)" : "")
            table.rows.append([Table.Cell(rule.rule), Table.Cell(action, style: rule.shadow ? "muted" : nil), .number(rule.hits), .number(rule.fraudHits), .number(rule.legitHits), .number(optional(rule.precision))])
        }
        return table
    }

    private func appendComparison(_ page: inout HTMLPage, candidate: ReplayRun, diff: DecisionDiff) {
        let b = run.summary, c = candidate.summary
        page.append(.heading("What changed: \(run.name) → \(candidate.name)"))
        page.append(.paragraph("\(Markup.grouped(diff.flipped)) of \(Markup.grouped(diff.events)) decisions flipped (\(Markup.percent(ratio(diff.flipped, diff.events), 3))); risk points changed on \(Markup.grouped(diff.riskPointsChanged)) events, the model score on \(Markup.grouped(diff.scoreChanged))."))
        var side = Table(caption: "Side by side", header: ["", run.name, candidate.name, "change"], rows: [], id: "side-by-side")
        for outcome in Outcome.allCases {
            side.rows.append([Table.Cell(outcome.rawValue), .number(b.outcomes[outcome]), .number(c.outcomes[outcome]), change(Double(c.outcomes[outcome] - b.outcomes[outcome]), decimals: 0, higherIsBetter: nil)])
        }
        if let bl = b.labels, let cl = c.labels {
            for (name, bm, cm) in [("decline", bl.decline, cl.decline), ("review", bl.review, cl.review), ("decline or review", bl.declineOrReview, cl.declineOrReview)] {
                side.rows.append(metricRow("\(name) precision", bm.precision, cm.precision, higherIsBetter: true))
                side.rows.append(metricRow("\(name) recall", bm.recall, cm.recall, higherIsBetter: true))
                side.rows.append(metricRow("\(name) F1", bm.f1, cm.f1, higherIsBetter: true))
                side.rows.append(metricRow("\(name) false-positive rate", bm.falsePositiveRate, cm.falsePositiveRate, higherIsBetter: false, decimals: 5))
            }
        }
        if b.model != nil || c.model != nil {
            side.rows.append(metricRow("AUC-ROC", b.model?.aucROC, c.model?.aucROC, higherIsBetter: true))
            side.rows.append(metricRow("average precision", b.model?.averagePrecision, c.model?.averagePrecision, higherIsBetter: true))
        }
        page.append(.table(side))
        if let bl = b.labels, let cl = c.labels { appendComparedLabels(&page, bl, cl, candidate: candidate) }
        var flips = Table(caption: "Flipped decisions", header: ["from", "to", "count", "example payment ids"], rows: [], id: "flips")
        for flip in diff.flips {
            flips.rows.append([Table.Cell(flip.from.rawValue), Table.Cell(flip.to.rawValue), .number(flip.count), Table.Cell(flip.examples.joined(separator: " "))])
        }
        page.append(.table(flips))
        var rules = Table(caption: "Rules whose matches or effect (action, points, shadow) changed", header: ["rule", "only \(run.name)", "only \(candidate.name)", "effect changed", "flips", "examples"], rows: [], id: "rule-changes")
        for rule in diff.rules {
            rules.rows.append([Table.Cell(rule.rule), .number(rule.onlyBaseline), .number(rule.onlyCandidate), .number(rule.effectChanged), Table.Cell(flipList(rule.flips)), Table.Cell(rule.flips.flatMap(\.examples).prefix(3).joined(separator: " "))])
        }
        page.append(.table(rules))
        var groups = Table(caption: "Flips by fraud scenario and label", header: ["group", "events", "newly flagged", "newly approved", "flips"], rows: [], id: "groups")
        for group in diff.groups {
            groups.rows.append([Table.Cell(group.group), .number(group.events), .number(group.newlyFlagged), .number(group.newlyApproved), Table.Cell(flipList(group.flips))])
        }
        page.append(.table(groups))
    }

    /// Caught fraud amounts and recall per scenario, both sides with the change.
    private func appendComparedLabels(_ page: inout HTMLPage, _ bl: LabelSummary, _ cl: LabelSummary, candidate: ReplayRun) {
        let amounts = ComparedRows.amounts(bl, cl)
        if !amounts.isEmpty {
            var table = Table(caption: "Fraud amount caught (declined or reviewed), per currency (minor units)", header: ["currency", "fraud", run.name, candidate.name, "change", "share \(run.name)", "share \(candidate.name)"], rows: [], id: "amounts-side-by-side")
            for (fraud, b, c) in amounts {
                let (bc, cc) = (b.caughtMinor, c.caughtMinor)
                let share = { (part: Int128) in Markup.percent(fraud.fraudMinor == 0 ? .nan : Double(part) / Double(fraud.fraudMinor)) }
                var delta = Table.Cell((cc > bc ? "+" : "") + Markup.grouped(cc - bc), numeric: true)
                if cc != bc { delta.style = cc > bc ? "good" : "bad" }
                table.rows.append([Table.Cell(fraud.currency), .number(Markup.grouped(fraud.fraudMinor)), .number(Markup.grouped(bc)), .number(Markup.grouped(cc)), delta, .number(share(bc)), .number(share(cc))])
            }
            page.append(.table(table))
        }
        let scenarios = ComparedRows.scenarios(bl, cl)
        if !scenarios.isEmpty {
            var table = Table(caption: "Recall per fraud scenario (decline or review)", header: ["scenario", "fraud events", run.name, candidate.name, "change", "decline recall \(run.name)", "decline recall \(candidate.name)"], rows: [], id: "scenarios-side-by-side")
            for (b, c) in scenarios {
                let delta: Table.Cell = if let br = b.recall, let cr = c.recall { change((cr - br) * 100, decimals: 1, higherIsBetter: true) } else { .number("–") }
                table.rows.append([Table.Cell(b.scenario), .number(b.fraudEvents), .number(optional(b.recall, percent: true)), .number(optional(c.recall, percent: true)), delta,
                                   .number(optional(b.declineRecall, percent: true)), .number(optional(c.declineRecall, percent: true))])
            }
            page.append(.table(table))
        }
    }

    private func metricRow(_ name: String, _ before: Double?, _ after: Double?, higherIsBetter: Bool, decimals: Int = 4) -> [Table.Cell] {
        let delta: Table.Cell = if let before, let after { change(after - before, decimals: decimals, higherIsBetter: higherIsBetter) } else { .number("–") }
        return [Table.Cell(name), .number(optional(before, decimals: decimals)), .number(optional(after, decimals: decimals)), delta]
    }

    private func change(_ value: Double, decimals: Int, higherIsBetter: Bool?) -> Table.Cell {
        let text = (value > 0 ? "+" : "") + (decimals == 0 ? Markup.grouped(Int(value)) : Markup.fixed(value, decimals))
        var style: String?
        if let higherIsBetter, value != 0 { style = (value > 0) == higherIsBetter ? "good" : "bad" }
        return Table.Cell(text, numeric: true, style: style)
    }

    private func flipList(_ flips: [Flip]) -> String {
        flips.isEmpty ? "–" : flips.map { "\($0.from.rawValue)→\($0.to.rawValue) \(Markup.grouped($0.count))" }.joined(separator: ", ")
    }

    private func ratio(_ part: Int, _ whole: Int) -> Double { whole == 0 ? .nan : Double(part) / Double(whole) }

    private func optional(_ value: Double?, percent: Bool = false, decimals: Int = 4) -> String {
        guard let value else { return "–" }
        return percent ? Markup.percent(value, max(decimals - 2, 1)) : Markup.fixed(value, decimals)
    }
}
