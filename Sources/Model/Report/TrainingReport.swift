import Reporting

/// The training report written next to a model: `NAME.report.md` for review in a pull request,
/// `NAME.report.html` with the ROC and precision-recall curves and the score distribution by
/// label as inline SVG (no external assets).
public struct TrainingReport: Sendable {
    public let result: LogisticRegressionTrainer.Result
    public let thresholds: [Double]
    /// Lines about the replay (events read, malformed lines, unlabeled events), shown as given.
    public let dataNotes: [String]

    public init(result: LogisticRegressionTrainer.Result, thresholds: [Double], dataNotes: [String]) {
        self.result = result
        self.thresholds = thresholds
        self.dataNotes = dataNotes
    }

    private var model: LogisticModel { result.model }
    private var split: String { result.model.training.validationRows > 0 ? "validation" : "training (no validation split)" }

    public var markdown: String {
        let t = model.training
        var out = "# Model `\(model.name)` — training report\n\n"
        out += "model_version `\(model.version)`, content hash `sha256:\(model.contentHash)`.\n\n"
        out += "## Data\n\n"
        out += "| | |\n|---|---|\n"
        out += "| input | `\(t.input)`\(t.seed.map { " (simulated, seed \($0))" } ?? "") |\n"
        out += "| training rows | \(t.trainRows), event time \(t.trainFrom) – \(t.trainTo) |\n"
        out += "| validation rows | \(t.validationRows), event time \(t.validationFrom) – \(t.validationTo) |\n"
        out += "| fraud rate | \(MetricsReport.percent(t.fraudRate)) |\n"
        for note in dataNotes { out += "| note | \(note) |\n" }
        out += "\n## Fit\n\n"
        out += "L2-regularized logistic regression, L-BFGS in double precision: minimizes "
            + "(1/n)·Σ sᵢ·ℓᵢ + (λ/2)·‖w‖² with λ = \(t.l2), class weighting `\(t.classWeight.rawValue)`, bias unpenalized. "
            + "Stopped after \(result.history.count) iterations (`\(t.stopReason)`); the kept coefficients are from iteration \(t.iterations) "
            + "(lowest validation log loss). Features are clipped to their training range and standardized; a missing value is imputed "
            + "to the training mean (standardized 0).\n\n"
        out += "## Metrics on the \(split) split\n\n"
        out += MetricsReport(evaluation: result.evaluation, thresholds: thresholds).markdown
        out += "\n## Features\n\nSorted by |weight| (the effect of one standard deviation on the logit).\n\n"
        out += "| # | expression | weight | mean | std | clip |\n|---|---|---|---|---|---|\n"
        let order = model.features.indices.sorted { abs(model.features[$0].weight) > abs(model.features[$1].weight) }
        for index in order {
            let f = model.features[index]
            out += "| \(index) | `\(f.expression.replacingOccurrences(of: "|", with: "\\|"))` | \(MetricsReport.fixed(f.weight, 4)) | "
                + "\(MetricsReport.fixed(f.mean, 4)) | \(MetricsReport.fixed(f.std, 4)) | [\(f.clipLower), \(f.clipUpper)] |\n"
        }
        out += "\nbias: \(MetricsReport.fixed(model.bias, 4))\n"
        return out
    }

    /// The page, drawn with the project's one chart library (`Reporting`): inline SVG and CSS only.
    public var html: String {
        let e = result.evaluation
        var page = HTMLPage(title: "Model \(model.name) — training report", subtitle: "model_version \(model.version)")
        page.append(.heading("Curves on the \(split) split"))
        let roc = SVGChart(
            .unitCurves([SVGChart.Curve(name: "model, AUC \(MetricsReport.fixed(e.aucROC, 4))", color: Palette.baseline, points: e.rocCurve.thinned(to: 400))], diagonal: true),
            xLabel: "false positive rate", yLabel: "true positive rate", width: 420, height: 320
        )
        let precisionRecall = SVGChart(
            .unitCurves([
                SVGChart.Curve(name: "model, AP \(MetricsReport.fixed(e.averagePrecision, 4))", color: Palette.fraud, points: e.precisionRecallCurve.thinned(to: 400)),
                SVGChart.Curve(name: "fraud rate", color: Palette.unlabeled, points: [(0, baseRate), (1, baseRate)], dashed: true),
            ], diagonal: false),
            xLabel: "recall", yLabel: "precision", width: 420, height: 320
        )
        let bins = 20
        let (legit, fraud) = histograms(bins: bins)
        let distribution = SVGChart(
            .histogram(edges: (0...bins).map { Double($0) / Double(bins) }, series: [
                SVGChart.Series(name: "legit", color: Palette.legit, values: legit),
                SVGChart.Series(name: "fraud", color: Palette.fraud, values: fraud),
            ], logScale: false),
            xLabel: "model_score", yLabel: "share of the label's rows", width: 420, height: 320
        )
        page.append(.chartRow([
            (roc, "ROC curve; the dashed diagonal is chance."),
            (precisionRecall, "Precision-recall curve; the dashed line is the fraud rate (a random ranking)."),
            (distribution, "Scores by label, each label's rows summing to 1, so the rare fraud class shows as clearly as the legit one."),
        ]))
        page.append(.heading("Report"))
        page.append(.code(markdown))
        return page.html()
    }

    private var baseRate: Double {
        result.evaluation.scores.isEmpty ? 0 : Double(result.evaluation.positives) / Double(result.evaluation.scores.count)
    }

    /// Share of each label's rows per score bin, so the rare fraud class is as visible as the legit one.
    private func histograms(bins: Int) -> (legit: [Double], fraud: [Double]) {
        var legit = [Double](repeating: 0, count: bins), fraud = [Double](repeating: 0, count: bins)
        let e = result.evaluation
        for (score, label) in zip(e.scores, e.labels) {
            let bin = min(bins - 1, max(0, Int(score * Double(bins))))
            if label { fraud[bin] += 1 } else { legit[bin] += 1 }
        }
        let legitTotal = max(1, Double(e.negatives)), fraudTotal = max(1, Double(e.positives))
        return (legit.map { $0 / legitTotal }, fraud.map { $0 / fraudTotal })
    }
}

extension Array {
    /// At most `limit` elements, evenly spaced, always keeping the first and the last: curves with
    /// a million thresholds drawn with a few hundred points.
    func thinned(to limit: Int) -> [Element] {
        guard count > limit, limit >= 2 else { return self }
        return (0..<limit).map { self[$0 * (count - 1) / (limit - 1)] }
    }
}
