import Features
import FraudCore
import Testing
@testable import Rules

/// A `let` is computed at most once per event, however often the rules read it.
struct LetCachingTests {
    final class Calls: @unchecked Sendable { var count = 0 }

    @Test func aLetIsEvaluatedOncePerEvent() throws {
        let calls = Calls()
        var compiler = Compiler(file: "t.rules", plan: FeaturePlan(), rates: .builtIn)
        compiler.bindings["x"] = (Compiled(type: .int, code: .int { _ in calls.count += 1; return 5 }), 0, 1)
        compiler.letCount = 1
        var sink = DiagnosticSink(file: "t.rules")
        let nodeParsed = Parser.parseExpression("x + x * x > 1 and x < 100", sink: &sink)
        let node = try #require(nodeParsed)
        guard case .bool(let condition)? = compiler.compile(node)?.code else {
            Issue.record("condition did not compile: \(compiler.sink.diagnostics)")
            return
        }
        let frame = Frame(event: sampleEvent(), row: Frame.emptyRow, lets: 1)
        #expect(condition(frame) == .yes)
        #expect(condition(frame) == .yes)
        #expect(calls.count == 1)
        frame.load(copying: sampleEvent { $0.paymentID = "p2" }, row: Frame.emptyRow, modelScore: .nan)
        #expect(condition(frame) == .yes)
        #expect(calls.count == 2)
    }

    @Test func constantsAreFoldedAtLoad() throws {
        var compiler = Compiler(file: "t.rules", plan: FeaturePlan(), rates: .builtIn)
        var sink = DiagnosticSink(file: "t.rules")
        let nodeParsed = Parser.parseExpression("(2 + 3) * 4 > 10 and 10m + 5m == 900s", sink: &sink)
        let node = try #require(nodeParsed)
        let maybeCompiled = compiler.compile(node)
        let compiled = try #require(maybeCompiled)
        #expect(compiled.constant == .bool(true))
        let partlyNodeParsed = Parser.parseExpression("amount_usd > 2 * 250", sink: &sink)
        let partlyNode = try #require(partlyNodeParsed)
        let maybePartly = compiler.compile(partlyNode)
        let partly = try #require(maybePartly)
        #expect(partly.constant == nil)
        #expect(partly.reads.map(\.name) == ["amount_usd"])
    }
}
