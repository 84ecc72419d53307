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
}
