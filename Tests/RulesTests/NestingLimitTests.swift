import Foundation
import Features
import Synchronization
import FraudCore
import Testing
@testable import Rules

/// Rules and model files that nest too deep are refused with an error, never a stack overflow:
/// compiling, lowering to the condition machine and evaluating all recurse once per level, and a
/// crash at load is a crash loop on every instance the file is deployed to.
struct NestingLimitTests {
    /// 5,000 nested list brackets went through `parsePrimary` without the depth limit (SIGSEGV).
    @Test func nestedListsAreRefusedBeforeTheyRecurse() throws {
        let rules = "rule a: review if mcc in " + String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000)
        #expect(compileErrors(rules) == ["test.rules:1:27: lists cannot be nested; a list holds literals (strings or numbers)"])
        #expect(compileErrors("list l = [\"a\", [\"b\"]]\nrule a: review if mcc in @l") == [
            "test.rules:1:16: lists cannot be nested; a list holds literals (strings or numbers)",
            "test.rules:2:26: unknown list '@l'",
        ])
        // The model's feature expressions use the same parser.
        var plan = FeaturePlan()
        let text = "mcc in " + String(repeating: "[", count: 5000) + "\"5411\"" + String(repeating: "]", count: 5000)
        #expect(throws: RulesCompileError.self) { try FeatureExpression(text, plan: &plan) }
        do {
            _ = try FeatureExpression(text, plan: &plan)
        } catch {
            #expect(error.description == "<expression>:1:9: lists cannot be nested; a list holds literals (strings or numbers)")
        }
        // Flat lists of any length and negative numbers still parse.
        let long = "[" + (0..<5000).map { "\"m\($0)\"" }.joined(separator: ", ") + "]"
        #expect(compileErrors("rule a: review if mcc in \(long) or amount_minor in [-1, 2]") == [])
    }

    /// A `let` is compiled into the expressions that use it, so a chain of `let`s nests as deep as
    /// its bodies together: 2,000 one-line `let`s, or 45 of ~90 levels each, overflowed the stack.
    @Test func letChainsCountTowardsTheDepthLimit() {
        var lines = ["let l0 = amount_usd > 1"]
        for i in 1...2000 { lines.append("let l\(i) = l\(i - 1) and amount_usd > 1") }
        lines.append("rule a: review if l2000")
        // One error, naming the first let past the limit; the lets built on it add none.
        #expect(compileErrors(lines.joined(separator: "\n")) == [
            "test.rules:201:1: let 'l200' is nested 402 levels deep counting the lets it uses; the limit is 400: compute it in fewer steps, or use a list",
        ])

        lines = ["let l0 = amount_usd"]
        for i in 1...45 { lines.append("let l\(i) = " + String(repeating: "(", count: 88) + "l\(i - 1)" + String(repeating: " + 1)", count: 88)) }
        lines.append("rule a: review if l45 > 3")
        #expect(compileErrors(lines.joined(separator: "\n")) == [
            "test.rules:6:1: let 'l5' is nested 446 levels deep counting the lets it uses; the limit is 400: compute it in fewer steps, or use a list",
        ])

        // Rules, thresholds and reason placeholders count the lets they use too (d4 is 375 deep).
        let chain = ["let d = " + String(repeating: "(", count: 90) + "amount_usd" + String(repeating: " + 1)", count: 90)]
            + (1...4).map { "let d\($0) = " + String(repeating: "(", count: 70) + ($0 == 1 ? "d" : "d\($0 - 1)") + String(repeating: " * 2)", count: 70) }
        let over = "d4" + String(repeating: " * 1", count: 24) + " > 0"
        #expect(compileErrors((chain + [
            "rule r: review if \(over)",
            "threshold review if \(over)",
            "rule s: review if d4 > 0 because \"{d4\(String(repeating: " * 1", count: 25))}\"",
            "rule ok: review if d4 > 0",
        ]).joined(separator: "\n")) == [
            "test.rules:6:1: the condition of rule 'r' is nested 401 levels deep counting the lets it uses; the limit is 400: compute it in fewer steps, or use a list",
            "test.rules:7:1: the condition of a threshold is nested 401 levels deep counting the lets it uses; the limit is 400: compute it in fewer steps, or use a list",
            "test.rules:8:135: the reason placeholder {d4\(String(repeating: " * 1", count: 25))} is nested 401 levels deep counting the lets it uses; the limit is 400: compute it in fewer steps, or use a list",
        ])
    }

    /// Let chains at the limit, in each shape the compiler lowers differently (machine steps for
    /// bools and decimals, closures for money and ints), with their reasons: compiled and
    /// evaluated on a quarter of the default 8 MiB thread stack, in a debug build.
    @Test(arguments: ["bool", "decimal", "not", "money", "int"])
    func aLetChainAtTheLimitRunsOnAQuarterOfTheStack(_ shape: String) throws {
        let text = Self.chainAtTheLimit(shape)
        let result = Mutex<String?>(nil)
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            do {
                let ruleSet = try compileRules(text)
                let verdict = ruleSet.evaluate(event: sampleEvent(), features: [])
                result.withLock { $0 = "\(verdict.outcome) \(verdict.reasons.first?.values.count ?? 0)" }
            } catch {
                result.withLock { $0 = "\(error)" }
            }
            done.signal()
        }
        thread.stackSize = 2 << 20
        thread.start()
        done.wait()
        #expect(result.withLock { $0 } == "review 6")
    }

    static func chainAtTheLimit(_ shape: String) -> String {
        func nest(_ inner: String, _ open: String = "(", close: String, _ times: Int = 95) -> String {
            String(repeating: open, count: times) + inner + String(repeating: close, count: times)
        }
        var lines: [String]
        var rule: String
        switch shape {
        case "bool":
            lines = ["let l0 = amount_usd > 1"] + (1...4).map { "let l\($0) = " + nest("l\($0 - 1)", close: " and amount_usd > 1)") }
            rule = "l4"
        case "decimal":
            lines = ["let l0 = amount_usd"] + (1...4).map { "let l\($0) = " + nest("l\($0 - 1)", close: " + 1)") }
            rule = "l4 > 1"
        case "not":
            lines = ["let l0 = amount_usd > 1"] + (1...4).map { "let l\($0) = " + nest("l\($0 - 1)", "not ", close: "") }
            rule = "l4"
        case "money":
            lines = ["let l0 = amount"] + (1...4).map { "let l\($0) = " + nest("l\($0 - 1)", close: " + 1.00 EUR)") }
            rule = "l4 > 1.00 USD"
        default:
            lines = ["let l0 = amount_minor"] + (1...4).map { "let l\($0) = " + nest("l\($0 - 1)", close: " * 1)") }
            rule = "l4 > 1"
        }
        return (lines + ["rule a: review if \(rule) because \"{l4}\""]).joined(separator: "\n")
    }

    /// A `let`'s reads are its body's, shared: each `let` holds one read, not copies of every read
    /// of the `let`s before it (n²/2 reads for a chain of n, 577 MB for 5,000), and a rule's
    /// reasons still list every value once, in reading order.
    @Test func letReadsAreSharedNotCopied() throws {
        var lines = ["let l0 = amount_usd > 1"]
        for i in 1...150 { lines.append("let l\(i) = l\(i - 1) and mcc != \"x\"") }
        lines.append("rule a: review if l150 and amount_usd > 2")
        let text = lines.joined(separator: "\n")
        let (declarations, sink) = Parser.parseFile(text, path: "test.rules")
        var program = ProgramCompiler(source: RulesSource(path: "test.rules", text: text) { _ in [] }, basePlan: FeaturePlan(), rates: .builtIn)
        program.compiler.sink = sink
        program.compile(declarations)
        #expect(program.compiler.sink.diagnostics == [])
        #expect(program.compiler.bindings.count == 151)
        for (name, binding) in program.compiler.bindings {
            #expect(binding.compiled.reads.count <= 2, "\(name) holds \(binding.compiled.reads.count) reads")
        }
        let verdict = try compileRules(text).evaluate(event: sampleEvent(), features: [])
        let names = verdict.reasons.first?.values.map(\.name) ?? []
        #expect(names == (0...150).reversed().map { "l\($0)" } + ["amount_usd", "mcc"])
    }
}
