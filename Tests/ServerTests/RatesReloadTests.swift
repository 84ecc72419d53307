import Engine
import Foundation
import LocalStackSupport
import Logging
import Prometheus
import Server
import Testing

@Suite("Reloading rates.json while running", .temporaryFolder)
struct RatesReloadTests {
    private static let rates = #"{"usd_per_major_unit": {"EUR": 1.08, "GBP": 1.27}}"#

    @Test("a reload that changes the exchange rates is refused (the feature stores keep theirs): last good set live, error names rates.json and asks for a restart, one reload failure; restoring the rates lets the rule edit apply")
    func refusesChangedRates() throws {
        let rulesFile = TemporaryFolder.current.path("engine.rules")
        let ratesFile = TemporaryFolder.current.path("rates.json")
        func write(version: String, rates: String) throws {
            try "version \"\(version)\"\nrule big: review +10 if amount > 100.00 USD\n".write(toFile: rulesFile, atomically: true, encoding: .utf8)
            try rates.write(toFile: ratesFile, atomically: true, encoding: .utf8)
        }
        try write(version: "rates-1", rates: Self.rates)
        var configuration = EngineConfiguration()
        configuration.rulesFile = rulesFile
        configuration.modelFile = nil
        configuration.features.store = .memory
        let registry = PrometheusCollectorRegistry()
        let runtime = try EngineRuntime(
            configuration: configuration, withKafka: false, logger: Logger(label: "test"), metricsFactory: PrometheusExport.factory(for: registry))
        func counter(_ name: String) -> String? {
            var text: [UInt8] = []
            registry.emit(into: &text)
            return String(decoding: text, as: UTF8.self).split(separator: "\n").first { $0.hasPrefix(name + " ") }.map(String.init)
        }
        func failures() -> String? { counter("waqiti_rules_reload_failures_total") }

        try write(version: "rates-2", rates: Self.rates.replacingOccurrences(of: "1.08", with: "2.16"))
        guard case .rejected(let errors) = runtime.rules.checkNow() else { Issue.record("a rates change was applied"); return }
        #expect(errors == ["\(ratesFile): exchange rates changed (EUR) while running; the feature stores and the model keep the rates they started with, so restart the engine to apply them"])
        #expect(runtime.engine.currentRules.label == "rates-1")
        #expect(runtime.rules.current.label == "rates-1")
        #expect(failures() == "waqiti_rules_reload_failures_total 1")
        #expect(counter("waqiti_rules_reloads_total") == "waqiti_rules_reloads_total 0", "a refused set is not counted as reloaded")
        runtime.rules.checkNow()
        #expect(failures() == "waqiti_rules_reload_failures_total 1", "a refusal is counted once, not on every poll")

        try write(version: "rates-2", rates: Self.rates)
        #expect(runtime.rules.checkNow() == .reloaded(version: runtime.rules.current.version))
        #expect(runtime.engine.currentRules.label == "rates-2")
        #expect(counter("waqiti_rules_reloads_total") == "waqiti_rules_reloads_total 1")
        #expect(failures() == "waqiti_rules_reload_failures_total 1")
    }
}
