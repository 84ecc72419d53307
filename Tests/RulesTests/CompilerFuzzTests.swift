import Foundation
import FraudCore
import Simulation
import Testing
@testable import Rules

/// Random and mutated rule files (fixed seeds, bounded counts): the compiler must return a rule
/// set or located errors, never crash or hang, and whatever compiles must evaluate.
struct CompilerFuzzTests {
    static let vocabulary = [
        "rule", "shadow", "let", "list", "threshold", "version", "if", "because", "and", "or", "not", "in", "like", "matches",
        "allow", "review", "decline", "(", ")", "[", "]", ",", ":", "=", "==", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/", "%",
        "amount", "amount_usd", "mcc", "card_country", "ip_country", "model_score", "risk_points", "metadata.x", "@l", "@nope",
        "count(card_fingerprint, 10m)", "sum(amount_usd, account_id, 1h)", "seconds_since_first(device_id)", "is_missing(ip)",
        "5", "5.00", "5.00 USD", "10m", "0", "-1", "9223372036854775807", "\"x\"", "\"US\"", "\"%a_\"", "\"(a+)+\"", "true",
        "false", "r1", "r2", "x", "\n", "#", "\"", "{", "}", "where", "hour_of_day()", "log(0)", "1/0", "where channel == \"ecom\"",
    ]

    static let base = (try? String(contentsOfFile: DefaultRulesTests.rulesPath, encoding: .utf8)) ?? "rule a: review if true"

    static func check(_ text: String) {
        do {
            let ruleSet = try compileRules("list l = [\"a\"]\n" + text, lists: [
                "lists/blocked_devices.txt": "d\n", "lists/blocked_ips.txt": "i\n",
                "lists/trusted_accounts.txt": "a\n", "lists/high_risk_mcc.txt": "7995\n",
            ])
            let row = [Double](repeating: 3, count: ruleSet.featurePlan.count)
            _ = ruleSet.evaluate(event: sampleEvent(), features: row, modelScore: 0.5)
        } catch {
            #expect(!error.diagnostics.isEmpty)
            for diagnostic in error.diagnostics {
                #expect(diagnostic.location.line >= 1 && diagnostic.location.column >= 1, "\(diagnostic)")
            }
        }
    }

    @Test(.timeLimit(.minutes(2)))
    func randomTokenSoup() {
        var random = SimulationRandom(seed: 7)
        for _ in 0..<400 {
            let count = random.below(40) + 1
            Self.check((0..<count).map { _ in random.pick(Self.vocabulary) }.joined(separator: " "))
        }
    }

    @Test(.timeLimit(.minutes(2)))
    func mutatedDefaultRules() {
        var random = SimulationRandom(seed: 11)
        let bytes = Array(Self.base.utf8)
        for _ in 0..<150 {
            var mutated = bytes
            for _ in 0..<(random.below(4) + 1) {
                guard !mutated.isEmpty else { break }
                let at = random.below(mutated.count)
                switch random.below(4) {
                case 0: mutated.removeSubrange(at..<min(mutated.count, at + random.below(12) + 1))
                case 1: mutated.insert(contentsOf: Array((" " + random.pick(Self.vocabulary) + " ").utf8), at: at)
                case 2: mutated[at] = UInt8(random.below(95) + 32)
                default:
                    let end = min(mutated.count, at + random.below(40))
                    mutated.insert(contentsOf: mutated[at..<end], at: random.below(mutated.count))
                }
            }
            Self.check(String(decoding: mutated, as: UTF8.self))
        }
    }

    @Test func deepNestingIsAnErrorNotACrash() {
        let deep = String(repeating: "(", count: 5000) + "true" + String(repeating: ")", count: 5000)
        #expect(compileErrors("rule a: review if \(deep)").first == "test.rules:1:119: expression is nested more than 100 levels deep; split it into lets or use a list")
        let long = (0..<500).map { "amount_usd > \($0)" }.joined(separator: " or ")
        #expect(compileErrors("rule a: review if \(long)").first?.hasSuffix("expression is nested more than 100 levels deep; split it into lets or use a list") == true)
        let nots = String(repeating: "not ", count: 3000) + "true"
        #expect(compileErrors("rule a: review if \(nots)").count == 1)
    }
}
