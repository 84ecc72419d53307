import FraudCore
import Features

/// The source of a rules file and how to read the list files it names.
public struct RulesSource: Sendable {
    /// Shown in error messages and used to resolve relative list paths.
    public var path: String
    public var text: String
    /// Reads a list file given its path as written in `file("…")`; relative to the rules file.
    public var readFile: @Sendable (String) throws -> [UInt8]

    public init(path: String, text: String, readFile: @escaping @Sendable (String) throws -> [UInt8]) {
        self.path = path
        self.text = text
        self.readFile = readFile
    }
}

/// Checks a parsed file's declarations and compiles them into the parts of a `RuleSet`.
struct ProgramCompiler {
    var compiler: Compiler
    var label: String?
    var rules: [CompiledRule] = []
    var thresholds: [CompiledRule] = []
    /// The conditions of `rules`, then of `thresholds`, for the condition machine.
    var ruleConditions: [BoolNode] = []
    var thresholdConditions: [BoolNode] = []
    /// The list files read, in declaration order, with their bytes (for the content hash).
    var listFiles: [(path: String, bytes: [UInt8])] = []
    let source: RulesSource
    /// The source's lines as UTF-8, without their "\n" or "\r\n" (for unnamed thresholds' names).
    private var lines: [ArraySlice<UInt8>]

    init(source: RulesSource, basePlan: FeaturePlan, rates: ExchangeRates) {
        self.source = source
        self.compiler = Compiler(file: source.path, plan: basePlan, rates: rates)
        // By bytes: "\r\n" is one Character, so splitting the String on "\n" kept a CRLF file one line.
        self.lines = Array(source.text.utf8).split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map { line in
            line.last == UInt8(ascii: "\r") ? line.dropLast() : line
        }
    }

    mutating func compile(_ declarations: [Declaration]) {
        // Lists first, so a rule may use a list declared further down.
        for case .list(let name, let list, let at) in declarations { declareList(name, list, at: at) }
        var ruleLines: [String: Int] = [:]
        var versionAt: SourceLocation?
        for declaration in declarations {
            switch declaration {
            case .version(let text, let at):
                if let first = versionAt {
                    compiler.sink.error("version is already set at line \(first.line); a file has one version", at: at)
                }
                versionAt = versionAt ?? at
                label = label ?? text
            case .binding(let name, let node, let at):
                declareLet(name, node, at: at)
            case .list:
                break
            case .rule(let rule):
                if let line = ruleLines[rule.name] {
                    compiler.sink.error("rule '\(rule.name)' is already defined at line \(line); rule names must be unique", at: rule.location)
                    continue
                }
                ruleLines[rule.name] = rule.location.line
                compileRule(rule)
            case .threshold(let threshold):
                compileThreshold(threshold, names: &ruleLines)
            }
        }
        if rules.isEmpty && thresholds.isEmpty && !compiler.sink.hasErrors {
            compiler.sink.error("the file declares no rules", at: SourceLocation(line: 1, column: 1))
        }
    }

    private mutating func isFreeName(_ name: String, at: SourceLocation) -> Bool {
        if EventField(name: name) != nil || Compiler.engineValues.contains(name) {
            compiler.sink.error("'\(name)' is already an event field; choose another name", at: at)
            return false
        }
        if Compiler.functionNames.contains(name) {
            compiler.sink.error("'\(name)' is a function; choose another name", at: at)
            return false
        }
        return true
    }

    private mutating func declareList(_ name: String, _ list: ListSourceSyntax, at: SourceLocation) {
        if compiler.lists[name] != nil {
            compiler.sink.error("list '\(name)' is already defined", at: at)
            return
        }
        switch list {
        case .inline(let elements):
            if let compiled = compiler.compileList(elements, at: at) { compiler.lists[name] = compiled }
        case .file(let path, let pathAt):
            do {
                let bytes = try source.readFile(path)
                listFiles.append((path, bytes))
                compiler.lists[name] = Compiled(list: .strings(Compiler.parseListFile(String(decoding: bytes, as: UTF8.self))), element: .string)
            } catch {
                compiler.sink.error("cannot read list file '\(path)': \(error)", at: pathAt)
                // Declared all the same, so its uses do not add a second error.
                compiler.lists[name] = Compiled(list: .strings([]), element: .string)
            }
        }
    }

    private mutating func declareLet(_ name: String, _ node: Expression.Node, at: SourceLocation) {
        guard compiler.bindings[name] == nil else {
            compiler.sink.error("'\(name)' is already defined; a let is defined once", at: at)
            return
        }
        guard isFreeName(name, at: at) else { return }
        guard let depth = compiler.checkDepthWithLets(node, of: "let '\(name)'", at: at), let compiled = compiler.compile(node) else {
            compiler.failedBindings.insert(name)
            return
        }
        if compiled.list != nil {
            compiler.sink.error("a let holds a value, not a list; declare lists with 'list \(name) = […]'", at: node.location)
            compiler.failedBindings.insert(name)
            return
        }
        compiler.bindings[name] = (compiled, compiler.letCount, depth)
        compiler.letCount += 1
    }

    private mutating func condition(_ node: Expression.Node, of what: String, declaredAt: SourceLocation) -> Compiled? {
        guard compiler.checkDepthWithLets(node, of: "the condition of \(what)", at: declaredAt) != nil,
              let compiled = compiler.compile(node) else { return nil }
        guard compiled.type == .bool, case .bool? = compiled.code else {
            compiler.sink.error("the condition of \(what) must be a bool, found \(compiled.type)", at: node.location)
            return nil
        }
        return compiled
    }

    private mutating func compileRule(_ rule: RuleSyntax) {
        let compiled = condition(rule.condition, of: "rule '\(rule.name)'", declaredAt: rule.location)
        let template = rule.reason.flatMap { compileTemplate($0) }
        guard let compiled, case .bool(let test)? = compiled.code, rule.reason == nil || template != nil else { return }
        ruleConditions.append(compiled.boolNode)
        rules.append(CompiledRule(
            name: rule.name, action: rule.action, points: rule.points, shadow: rule.shadow, isThreshold: false,
            line: rule.location.line, condition: test, reads: Read.flatten(compiled.reads), template: template
        ))
    }

    private mutating func compileThreshold(_ threshold: ThresholdSyntax, names: inout [String: Int]) {
        let name = threshold.name ?? "threshold: " + sourceText(from: threshold.conditionStart)
        if let line = names[name] {
            compiler.sink.error("'\(name)' is already defined at line \(line); rule and threshold names must be unique", at: threshold.location)
            return
        }
        names[name] = threshold.location.line
        compiler.allowsRiskPoints = true
        defer { compiler.allowsRiskPoints = false }
        guard let compiled = condition(threshold.condition, of: "a threshold", declaredAt: threshold.location), case .bool(let test)? = compiled.code else { return }
        thresholdConditions.append(compiled.boolNode)
        thresholds.append(CompiledRule(
            name: name, action: threshold.action, points: 0, shadow: false, isThreshold: true,
            line: threshold.location.line, condition: test, reads: Read.flatten(compiled.reads), template: nil
        ))
    }

    private mutating func compileTemplate(_ template: TemplateSyntax) -> CompiledTemplate? {
        var parts: [CompiledTemplate.Part] = []
        var ok = true
        for part in template.parts {
            switch part {
            case .text(let text):
                parts.append(.text(text))
            case .hole(let node, let text):
                guard compiler.checkDepthWithLets(node, of: "the reason placeholder {\(text)}", at: node.location) != nil,
                      let compiled = compiler.compile(node) else { ok = false; continue }
                guard let code = compiled.code else {
                    compiler.sink.error("a reason placeholder shows a value, not a list", at: node.location)
                    ok = false
                    continue
                }
                parts.append(.value(code))
            }
        }
        return ok ? CompiledTemplate(parts: parts) : nil
    }

    /// The rest of the line from `location`, without a trailing comment, spaces collapsed.
    private func sourceText(from location: SourceLocation) -> String {
        guard location.line - 1 < lines.count else { return "" }
        let line = lines[location.line - 1]
        let start = line.startIndex + min(location.column - 1, line.count)
        var text = String(decoding: line[start...], as: UTF8.self)
        if let hash = text.firstIndex(of: "#") { text = String(text[..<hash]) }
        return text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).joined(separator: " ")
    }
}
