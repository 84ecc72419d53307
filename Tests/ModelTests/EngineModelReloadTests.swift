import Engine
import Foundation
import LocalStackSupport
import Logging
import MetricsTestKit
import Testing
@testable import Model

@Suite(.temporaryFolder) struct EngineModelReloadTests {
    @Test("in a running engine, one model reload counts 1 in waqiti_model_reloads_total and one rejected file 1 in the failures (the runtime counted each again)")
    func countsEachReloadOnce() throws {
        let path = TemporaryFolder.current.path("model.json")
        try ModelFileEncoder.encode(Fixtures.model).write(toFile: path, atomically: true, encoding: .utf8)
        var configuration = EngineConfiguration()
        configuration.rulesFile = ShippedModelTests.models.deletingLastPathComponent().appendingPathComponent("rules/default.rules").path
        configuration.modelFile = path
        configuration.features.store = .memory
        let metrics = TestMetrics()
        let runtime = try EngineRuntime(configuration: configuration, withKafka: false, logger: Logger(label: "test"), metricsFactory: metrics)

        var next = Fixtures.model
        next.bias = -3.5
        try ModelFileEncoder.encode(next).write(toFile: path, atomically: true, encoding: .utf8)
        #expect(runtime.model?.poll() == .reloaded(version: next.version))
        try "{\"format_version\": 1".write(toFile: path, atomically: true, encoding: .utf8)
        guard case .rejected = runtime.model?.poll() else { Issue.record("a truncated model file was not rejected"); return }

        // The watcher records in the runtime's registry (its info gauge is there), so a count of
        // 1 there means nobody else counted the same reload.
        #expect(try metrics.expectGauge("waqiti_model_info", [("model_version", next.version)]).lastValue == 1)
        #expect(try metrics.expectCounter("waqiti_model_reloads_total").totalValue == 1)
        #expect(try metrics.expectCounter("waqiti_model_reload_failures_total").totalValue == 1)
    }
}
