import ArgumentParser
import Features
import Foundation
import FraudCore
import Model

/// `waqiti evaluate`: scores labeled events with a model file and prints its metrics.
struct EvaluateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Score labeled events with a model and print AUC-ROC, AUC-PR, log loss, precision/recall and calibration."
    )

    @Option(help: "Model file, e.g. models/default.json.")
    var model: String

    @Option(help: "Labeled events, JSON Lines; replayed through the feature store from empty windows.")
    var input: String

    @Option(help: "Rules file whose model_score comparisons give the thresholds (e.g. rules/default.rules).")
    var rules: String?

    @Option(help: "Comma-separated thresholds; overrides --rules. Default 0.5,0.9.")
    var thresholds: String?

    func run() async throws {
        var plan = FeaturePlan()
        let compiled = try CompiledModel.load(path: model, plan: &plan)
        let thresholdValues: [Double]
        if let thresholds {
            thresholdValues = try CommandLineThresholds.parse(thresholds)
        } else if let rules {
            let text: String
            do {
                text = try String(contentsOfFile: rules, encoding: .utf8)
            } catch {
                throw CommandFailure("cannot read rules file \(rules): \(error.localizedDescription)")
            }
            let found = ModelScoreThresholds.find(inRules: text)
            thresholdValues = found.isEmpty ? [0.5, 0.9] : found
            if found.isEmpty { print("note: \(rules) compares model_score with no number; using 0.5,0.9") }
        } else {
            thresholdValues = [0.5, 0.9]
        }

        let replay = TrainingReplay(extractor: compiled.extractor, plan: compiled.plan, store: InMemoryFeatureStore())
        let terminal = ProgressLine()
        let summary = try await replay.replay(file: input) { terminal.update("replayed \($0) events") }
        terminal.finish("replayed \(summary.events) events, \(replay.matrix.rows) labeled")
        for note in summary.notes(unlabeled: replay.unlabeled, duplicates: replay.duplicates, tooLate: replay.tooLate).dropFirst() {
            print("note: \(note)")
        }
        guard replay.matrix.rows > 0 else { throw CommandFailure("\(input) has no labeled events to evaluate on") }

        let scorer = BatchScorer(model: compiled.model)
        scorer.score(raw: replay.matrix.values, rows: replay.matrix.rows)
        let evaluation = BinaryEvaluation(scores: Array(scorer.scores.prefix(replay.matrix.rows)), labels: replay.matrix.labels)
        print("model \(compiled.version) on \(input)\n")
        print(MetricsReport(evaluation: evaluation, thresholds: thresholdValues).markdown)
    }
}
