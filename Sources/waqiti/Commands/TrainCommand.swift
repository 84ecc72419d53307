import ArgumentParser
import BLAS
import Features
import Foundation
import FraudCore
import Model

/// `waqiti train`: replays labeled events through the feature store, fits the logistic model and
/// writes it with its report.
struct TrainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Fit the logistic model on labeled events (replayed through the feature store).",
        discussion: """
        Writes the model file (--out) and, beside it, NAME.report.md and NAME.report.html.
        Validation is the latest --validation-fraction of the labeled rows by event time (rows at
        the cutoff time all go to validation); the coefficients with the lowest validation log loss
        are kept. Training refuses a split with fewer than \(LogisticRegressionTrainer.minimumTrainingRows) training or \(LogisticRegressionTrainer.minimumValidationRows) validation
        rows, or a training split without both fraud and legit rows.
        """
    )

    @Option(help: "Labeled events, JSON Lines (from `waqiti simulate` or recorded with labels).")
    var input: String

    @Option(help: "Training spec: the feature expressions, e.g. models/spec.json.")
    var spec: String

    @Option(help: "Model file to write, e.g. models/default.json. The model's name is the spec's \"name\", or this file's name without .json when the spec has none.")
    var out: String

    @Option(name: .customLong("export-matrix"), help: "Also write the raw training matrix as CSV (features, label, split).")
    var exportMatrix: String?

    @Option(name: .customLong("class-weight"), help: "none (calibrated probabilities) or balanced.")
    var classWeight: String?

    @Option(help: "L2 strength λ of (1/n)·Σ loss + (λ/2)·‖w‖² (default: the spec's, else 0.0001).")
    var l2: Double?

    @Option(name: .customLong("validation-fraction"), help: "Share of the labeled rows, the latest by event time, held out (default 0.2).")
    var validationFraction: Double?

    @Option(help: "Seed of the simulated input, recorded in the model's training summary.")
    var seed: UInt64?

    @Option(name: .customLong("max-iterations"), help: "L-BFGS iteration limit.")
    var maxIterations = 500

    @Option(help: "Comma-separated model_score thresholds for the report's precision/recall table.")
    var thresholds = "0.5,0.7,0.9"

    func run() async throws {
        let spec = try TrainingSpec.load(path: self.spec)
        let name = spec.name ?? URL(fileURLWithPath: out).deletingPathExtension().lastPathComponent
        var options = LogisticRegressionTrainer.Options()
        if let l2, !(l2.isFinite && l2 >= 0) {
            throw ValidationError("--l2 must be a finite number >= 0, got \(l2)")
        }
        options.l2 = l2 ?? spec.l2 ?? options.l2
        options.validationFraction = validationFraction ?? spec.validationFraction ?? options.validationFraction
        options.maxIterations = maxIterations
        if let text = classWeight {
            guard let weighting = ClassWeighting(rawValue: text) else {
                throw ValidationError("--class-weight must be none or balanced, got \(text)")
            }
            options.classWeight = weighting
        } else if let weighting = spec.classWeight {
            options.classWeight = weighting
        }
        guard options.validationFraction >= 0, options.validationFraction < 1 else {
            throw ValidationError("--validation-fraction must be in 0..<1, got \(options.validationFraction)")
        }
        let thresholdValues = try CommandLineThresholds.parse(thresholds)

        var plan = FeaturePlan()
        let extractor = try ModelFeatureExtractor(expressions: spec.features, plan: &plan, origin: self.spec)
        let replay = TrainingReplay(extractor: extractor, plan: plan, store: InMemoryFeatureStore())
        let terminal = ProgressLine()
        let started = ContinuousClock.now
        let summary = try await replay.replay(file: input) { terminal.update("replayed \($0) events") }
        terminal.finish("replayed \(summary.events) events, \(replay.matrix.rows) labeled rows, \(plan.count) velocity features in \(elapsed(since: started))")
        guard replay.matrix.rows > 0 else { throw CommandFailure("\(input) has no labeled events to train on") }
        let notes = summary.notes(unlabeled: replay.unlabeled, duplicates: replay.duplicates, tooLate: replay.tooLate)
        for note in notes.dropFirst() { print("note: \(note)") }

        let fitStarted = ContinuousClock.now
        let result: LogisticRegressionTrainer.Result
        do {
            result = try LogisticRegressionTrainer(options: options).fit(replay.matrix, name: name, input: input, seed: seed) { step in
                terminal.update("iteration \(step.number)  objective \(step.objective)  validation log loss \(step.validationLoss)")
            }
        } catch {
            throw CommandFailure("cannot train on \(input): \(error.description)")
        }
        for warning in result.warnings { print("warning: \(warning)") }
        terminal.finish("fitted \(result.model.features.count) features in \(result.history.count) iterations (\(result.stopReason)) in \(elapsed(since: fitStarted))")

        try write(ModelFileEncoder.encode(result.model), to: out)
        let report = TrainingReport(result: result, thresholds: thresholdValues, dataNotes: notes + result.warnings)
        let base = out.hasSuffix(".json") ? String(out.dropLast(5)) : out
        try write(report.markdown, to: base + ".report.md")
        try write(report.html, to: base + ".report.html")
        if let exportMatrix { try MatrixExport.write(replay.matrix, split: result.split, to: exportMatrix) }

        let m = result.model
        print("wrote \(out) (model_version \(m.version)), \(base).report.md, \(base).report.html\(exportMatrix.map { ", \($0)" } ?? "")")
        let metric = { (value: Double?) in value.map { "\($0)" } ?? "n/a" }
        print("validation: AUC-ROC \(metric(m.evaluation.aucROC)), AUC-PR \(metric(m.evaluation.aucPR)), log loss \(m.evaluation.logLoss) on \(m.evaluation.rows) rows")
    }

    private func write(_ text: String, to path: String) throws {
        do {
            try text.write(toFile: path, atomically: true, encoding: .utf8)
        } catch {
            throw CommandFailure("cannot write \(path): \(error.localizedDescription)")
        }
    }
}

/// `0.5,0.9` → [0.5, 0.9], each in 0...1.
enum CommandLineThresholds {
    static func parse(_ text: String) throws -> [Double] {
        try text.split(separator: ",").map { part in
            let trimmed = part.trimmingCharacters(in: .whitespaces)
            guard let value = Double(trimmed), value >= 0, value <= 1 else {
                throw ValidationError("threshold \"\(trimmed)\" is not a number in 0...1 (expected e.g. --thresholds 0.5,0.9)")
            }
            return value
        }
    }
}

func elapsed(since start: ContinuousClock.Instant) -> String {
    let duration = ContinuousClock.now - start
    let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    return String(format: "%.1f s", seconds)
}

/// One self-overwriting status line, drawn only when stdout is a terminal (so logs and pipes get
/// only the final lines).
final class ProgressLine {
    private let enabled = isatty(STDOUT_FILENO) == 1
    private var last = ContinuousClock.now

    func update(_ text: String) {
        guard enabled, ContinuousClock.now - last > .milliseconds(100) else { return }
        last = ContinuousClock.now
        print("\r\u{1B}[2K" + text, terminator: "")
        fflush(nil) // nil flushes every output stream, stdout among them
    }

    func finish(_ text: String) {
        if enabled { print("\r\u{1B}[2K", terminator: "") }
        print(text)
    }
}
