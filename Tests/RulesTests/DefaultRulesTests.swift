import Features
import Foundation
import FraudCore
import Testing
@testable import Rules

/// rules/default.rules compiles, has the promised shape, and passes every case in rules/tests.
struct DefaultRulesTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    static let rulesPath = repository + "/rules/default.rules"

    static var testFiles: [String] {
        let directory = repository + "/rules/tests"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasSuffix(".yaml") }.sorted().map { directory + "/" + $0 }
    }

    @Test func defaultRulesCompileWithListsAndRates() throws {
        let ruleSet = try RuleSetLoader(rulesPath: Self.rulesPath).load()
        let rules = ruleSet.ruleNames.filter { !$0.hasPrefix("points_") && !$0.hasPrefix("model_") }
        #expect(rules.count >= 20)
        #expect(ruleSet.label == "2026.11-1")
        #expect(ruleSet.sourceFiles.count == 6)
        #expect(ruleSet.sourceFiles.last == Self.repository + "/rules/rates.json")
        #expect(ruleSet.rates.usd(Money(minorUnits: 10_000, currency: Currency("GBP")!)) == 127)
    }

    @Test(arguments: testFiles)
    func scenarioCasesPass(_ path: String) async throws {
        let file = try RuleTestFile(path: path, text: String(contentsOfFile: path, encoding: .utf8))
        let ruleSet = try RuleSetLoader(rulesPath: Self.rulesPath).load()
        let runner = RuleTestRunner(ruleSet: ruleSet) { InMemoryFeatureStore(rates: $0) }
        for testCase in file.cases {
            let result = try await runner.run(testCase)
            #expect(result.differences.isEmpty, "\(testCase.name): \(result.differences) — read: \(RuleTestRunner.explain(result.verdict))")
        }
    }

    /// A file saved with Windows line endings is the same rule set: "\r\n" is one Character, so
    /// splitting the text on "\n" made a CRLF file one line, every unnamed threshold was named
    /// "threshold: " and the second one collided with the first.
    @Test func aCRLFFileIsTheSameRuleSet() throws {
        let text = try String(contentsOfFile: Self.rulesPath, encoding: .utf8)
        let crlf = text.replacingOccurrences(of: "\n", with: "\r\n")
        let directory = URL(fileURLWithPath: Self.rulesPath).deletingLastPathComponent().path
        func compile(_ text: String) throws -> RuleSet {
            try RuleSet.compile(RulesSource(path: Self.rulesPath, text: text) { path in
                [UInt8](try Data(contentsOf: URL(fileURLWithPath: directory + "/" + path)))
            })
        }
        let lf = try compile(text), windows = try compile(crlf)
        #expect(windows.ruleNames == lf.ruleNames)
        #expect(windows.featurePlan == lf.featurePlan)
        let event = sampleEvent { $0.amount = money(250_000, "USD") }
        let row = [Double](repeating: 3, count: lf.featurePlan.count)
        #expect(windows.evaluate(event: event, features: row, modelScore: 0.95).reasons
                == lf.evaluate(event: event, features: row, modelScore: 0.95).reasons)

        let twoThresholds = "rule a: review +50 if true\r\nthreshold review if risk_points >= 40\r\nthreshold decline if risk_points >= 80 # hard\r\n"
        let ruleSet = try compileRules(twoThresholds)
        #expect(ruleSet.ruleNames == ["a", "threshold: risk_points >= 40", "threshold: risk_points >= 80"])
    }
}
