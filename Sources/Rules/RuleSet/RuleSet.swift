import FraudCore
import Features

/// A compiled rules file: immutable, shareable across threads, evaluated per event or per batch.
///
/// Conditions run on a `ConditionProgram` (a flat instruction array) over per-call scratch; the
/// closures compiled beside it produce the reasons of the rules that match. Nothing in a rule set
/// is mutated after `compile`, so any number of threads may evaluate one while another thread
/// drops the last reference to it.
///
/// Rules and the model share one `FeaturePlan`: compile the model's expressions into a plan
/// first, pass it as `basePlan`, and the rule set's `featurePlan` is that plan with the rules'
/// aggregates appended (columns are never renumbered). The engine fills rows for `featurePlan`
/// and both the model and the rules read their columns from the same row.
public struct RuleSet: Sendable {
    /// `<label>+<first 12 hex of SHA-256 over the rules file, its list files and rates file>`,
    /// or just the hash when the file has no `version`.
    public let version: String
    /// The file's own `version "…"` label.
    public let label: String?
    /// Full SHA-256 of the loaded bytes.
    public let contentHash: String
    /// The base plan plus every aggregate the rules and their reasons read.
    public let featurePlan: FeaturePlan
    /// Rates used for `amount_usd` and cross-currency money comparisons.
    public let rates: ExchangeRates
    /// Rule names in file order (for metrics), then threshold names.
    public let ruleNames: [String]
    /// Files whose change should trigger a reload: the rules file, its list files, the rates file.
    public var sourceFiles: [String] { sourceFilesStorage }
    var sourceFilesStorage: [String]

    let rules: [CompiledRule]
    let thresholds: [CompiledRule]
    let letCount: Int
    let program: ConditionProgram

    /// Parses, checks and compiles a rules file.
    /// - Throws: `RulesCompileError` listing every problem in the file as `path:line:col: message`.
    public static func compile(
        _ source: RulesSource, basePlan: FeaturePlan = FeaturePlan(), rates: ExchangeRates = .builtIn,
        ratesBytes: [UInt8] = [], ratesPath: String? = nil
    ) throws(RulesCompileError) -> RuleSet {
        let (declarations, parseSink) = Parser.parseFile(source.text, path: source.path)
        var program = ProgramCompiler(source: source, basePlan: basePlan, rates: rates)
        program.compiler.sink = parseSink
        program.compile(declarations)
        guard !program.compiler.sink.hasErrors else { throw RulesCompileError(diagnostics: program.compiler.sink.diagnostics) }

        var hasher = SHA256()
        hasher.update(source.text.utf8)
        for file in program.listFiles {
            hasher.update([0])
            hasher.update(file.path.utf8)
            hasher.update([0])
            hasher.update(file.bytes)
        }
        if !ratesBytes.isEmpty {
            hasher.update([0])
            hasher.update(ratesBytes)
        }
        let hash = hasher.finalizeHex()
        let short = String(hash.prefix(12))
        return RuleSet(
            version: program.label.map { "\($0)+\(short)" } ?? short, label: program.label, contentHash: hash,
            featurePlan: program.compiler.plan, rates: rates,
            ruleNames: (program.rules + program.thresholds).map(\.name),
            sourceFilesStorage: [source.path] + program.listFiles.map(\.path) + (ratesPath.map { [$0] } ?? []),
            rules: program.rules, thresholds: program.thresholds, letCount: program.compiler.letCount,
            program: ConditionProgram(conditions: program.ruleConditions + program.thresholdConditions,
                                      letCount: program.compiler.letCount, rates: rates)
        )
    }

    // MARK: Evaluation

    /// Evaluates one event. `features` is the event's row of `featurePlan` (or of a plan that
    /// extends it); `modelScore` is the model's probability, NaN when there is no model.
    public func evaluate(event: PaymentEvent, features: UnsafeBufferPointer<Double>, modelScore: Double = .nan) -> RuleVerdict {
        precondition(features.count >= featurePlan.count, "feature row has \(features.count) columns; the rule set's plan has \(featurePlan.count)")
        // The frame points at the caller's event for the call instead of copying it.
        return withUnsafePointer(to: event) { pointer in
            let frame = Frame(event: .placeholder, row: Frame.emptyRow, lets: letCount, rates: rates)
            frame.load(pointer, row: features.baseAddress ?? Frame.emptyRow, modelScore: modelScore)
            // Captures the two arrays, not `self`: copying the whole struct costs a dozen retains.
            let rules = self.rules, thresholds = self.thresholds
            return ConditionMachine.withMachine(program, frame: frame) { RuleSet.decide(&$0, rules, thresholds) }
        }
    }

    public func evaluate(event: PaymentEvent, features: [Double], modelScore: Double = .nan) -> RuleVerdict {
        features.withUnsafeBufferPointer { evaluate(event: event, features: $0, modelScore: modelScore) }
    }

    /// Evaluates a batch: `features` is row-major, `events.count × featureCount` (featureCount ≥
    /// `featurePlan.count`); `modelScores` is empty (no model) or one per event.
    public func evaluate(events: [PaymentEvent], features: [Double], featureCount: Int, modelScores: [Double] = []) -> [RuleVerdict] {
        var out: [RuleVerdict] = []
        evaluate(events: events, features: features, featureCount: featureCount, modelScores: modelScores, into: &out)
        return out
    }

    /// The batch form writing into a reused array (no per-batch array allocation).
    public func evaluate(events: [PaymentEvent], features: [Double], featureCount: Int, modelScores: [Double], into out: inout [RuleVerdict]) {
        precondition(featureCount >= featurePlan.count, "feature matrix has \(featureCount) columns; the rule set's plan has \(featurePlan.count)")
        precondition(features.count == events.count * featureCount, "feature matrix is \(features.count) values; expected \(events.count) × \(featureCount)")
        precondition(modelScores.isEmpty || modelScores.count == events.count, "one model score per event, or none")
        out.removeAll(keepingCapacity: true)
        guard !events.isEmpty else { return }
        out.reserveCapacity(events.count)
        features.withUnsafeBufferPointer { matrix in
            events.withUnsafeBufferPointer { batch in
                let base = matrix.baseAddress ?? Frame.emptyRow
                let frame = Frame(event: .placeholder, row: base, lets: letCount, rates: rates)
                let rules = self.rules, thresholds = self.thresholds
                ConditionMachine.withMachine(program, frame: frame) { machine in
                    for index in batch.indices {
                        frame.load(batch.baseAddress! + index, row: featureCount == 0 ? Frame.emptyRow : base + index * featureCount,
                                   modelScore: modelScores.isEmpty ? .nan : modelScores[index])
                        machine.nextEvent()
                        out.append(RuleSet.decide(&machine, rules, thresholds))
                    }
                }
            }
        }
    }

    /// Runs the conditions on the machine's current event; builds reasons only for the matches.
    private static func decide(_ machine: inout ConditionMachine, _ rules: [CompiledRule], _ thresholds: [CompiledRule]) -> RuleVerdict {
        let frame = machine.frame
        var reasons: [RuleReason] = []
        var points = 0
        var decline: String?, allow: String?, review: String?
        let ruleCount = rules.count
        for index in 0..<ruleCount where machine.condition(index) == .yes {
            let rule = rules[index]
            reasons.append(rule.reason(frame))
            guard !rule.shadow else { continue }
            points &+= rule.points
            RuleSet.note(rule, &decline, &allow, &review)
        }
        frame.riskPoints = Int64(points)
        for index in thresholds.indices where machine.condition(ruleCount + index) == .yes {
            let threshold = thresholds[index]
            reasons.append(threshold.reason(frame))
            RuleSet.note(threshold, &decline, &allow, &review)
        }
        if let decline { return RuleVerdict(outcome: .decline, riskPoints: points, reasons: reasons, decidedBy: decline) }
        if let allow { return RuleVerdict(outcome: .approve, riskPoints: points, reasons: reasons, decidedBy: allow) }
        if let review { return RuleVerdict(outcome: .review, riskPoints: points, reasons: reasons, decidedBy: review) }
        return RuleVerdict(outcome: .approve, riskPoints: points, reasons: reasons, decidedBy: nil)
    }

    /// Each rule's and threshold's condition on one event, through the closures (the reference
    /// semantics) and through the condition machine, in `ruleNames` order; for the tests that
    /// hold the two to the same answers.
    func conditionTruths(event: PaymentEvent, features: [Double], modelScore: Double, riskPoints: Int64) -> (closures: [Truth], machine: [Truth]) {
        features.withUnsafeBufferPointer { row in
            let frame = Frame(event: event, row: row.baseAddress ?? Frame.emptyRow, lets: letCount, rates: rates)
            frame.modelScore = modelScore
            frame.riskPoints = riskPoints
            let closures = (rules + thresholds).map { $0.condition(frame) }
            let machine = ConditionMachine.withMachine(program, frame: frame) { machine in
                (0..<(rules.count + thresholds.count)).map { machine.condition($0) }
            }
            return (closures, machine)
        }
    }

    private static func note(_ rule: CompiledRule, _ decline: inout String?, _ allow: inout String?, _ review: inout String?) {
        switch rule.action {
        case .decline: if decline == nil { decline = rule.name }
        case .allow: if allow == nil { allow = rule.name }
        case .review: if review == nil { review = rule.name }
        }
    }
}
