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

    public var html: String {
        let e = result.evaluation
        var body = "<h2>Curves on the \(HTML.escape(split)) split</h2>\n<div class=\"charts\">\n"
        body += SVGChart(
            title: "ROC (AUC \(MetricsReport.fixed(e.aucROC, 4)))", xLabel: "false positive rate", yLabel: "true positive rate",
            series: [
                .init(name: "model", color: "#1f77b4", points: e.rocCurve.thinned(to: 400)),
                .init(name: "chance", color: "#999", points: [(0, 0), (1, 1)], dashed: true),
            ]
        ).render()
        body += SVGChart(
            title: "Precision-recall (AP \(MetricsReport.fixed(e.averagePrecision, 4)))", xLabel: "recall", yLabel: "precision",
            series: [
                .init(name: "model", color: "#d62728", points: e.precisionRecallCurve.thinned(to: 400)),
                .init(name: "fraud rate", color: "#999", points: [(0, baseRate), (1, baseRate)], dashed: true),
            ]
        ).render()
        let (legit, fraud) = histograms(bins: 20)
        body += SVGChart(
            title: "Score distribution by label", xLabel: "model_score", yLabel: "share of the label's rows",
            yRange: 0...max(0.05, (legit + fraud).map(\.y).max() ?? 1),
            series: [.init(name: "legit", color: "#2ca02c", points: legit), .init(name: "fraud", color: "#d62728", points: fraud)],
            barWidth: 0.05
        ).render()
        body += "\n</div>\n"
        return """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>Model \(HTML.escape(model.name)) — training report</title>
        <style>body{font-family:system-ui,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}
        table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}
        pre{background:#f6f6f6;padding:1em;overflow-x:auto;white-space:pre-wrap}.charts{display:flex;flex-wrap:wrap;gap:12px}</style>
        </head><body>
        <h1>Model <code>\(HTML.escape(model.name))</code></h1>
        <p>model_version <code>\(HTML.escape(model.version))</code></p>
        \(body)
        <h2>Report</h2>
        <pre>\(HTML.escape(markdown))</pre>
        </body></html>

        """
    }

    private var baseRate: Double {
        result.evaluation.scores.isEmpty ? 0 : Double(result.evaluation.positives) / Double(result.evaluation.scores.count)
    }

    /// Share of each label's rows per score bin, so the rare fraud class is as visible as the legit one.
    private func histograms(bins: Int) -> (legit: [(x: Double, y: Double)], fraud: [(x: Double, y: Double)]) {
        var legit = [Double](repeating: 0, count: bins), fraud = [Double](repeating: 0, count: bins)
        let e = result.evaluation
        for (score, label) in zip(e.scores, e.labels) {
            let bin = min(bins - 1, max(0, Int(score * Double(bins))))
            if label { fraud[bin] += 1 } else { legit[bin] += 1 }
        }
        let width = 1 / Double(bins)
        let legitTotal = max(1, Double(e.negatives)), fraudTotal = max(1, Double(e.positives))
        return (
            legit.enumerated().map { (Double($0.offset) * width, $0.element / legitTotal) },
            fraud.enumerated().map { (Double($0.offset) * width, $0.element / fraudTotal) }
        )
    }
}
