@testable import Engine
import Foundation
import FraudCore
@testable import Kafka
import Testing
import LocalStackSupport

/// An idempotent producer that hit a fatal error fails every produce from then on: the engine
/// must say so (health DOWN) and stop (its supervisor restarts it with a new client), not keep
/// retrying behind a health check that says UP.
@Suite("waqiti serve after a fatal Kafka producer error", .enabled(if: LocalStack.isEnabled, LocalStack.skipMessage), .temporaryFolder)
struct FatalKafkaErrorIntegrationTests {
    @Test("health reports the producer's fatal error as DOWN, and the engine's services stop with it", .timeLimit(.minutes(2)))
    func healthDownAndStops() async throws {
        let harness = try EngineHarness(rules: """
        version "fatal-1"
        rule big: review +10 if amount > 500.00 USD
        """) { $0.features.store = .memory }
        #expect(await harness.health("kafka")?.status == .up)

        let producer = try #require(harness.runtime.producer)
        producer.triggerFatalErrorForTesting(KafkaErrorCode(rawValue: 45), reason: "sequence lost")
        let health = await harness.health("kafka")
        #expect(health?.status == .down)
        #expect(health?.detail.contains("test_fatal_error: sequence lost") == true, "\(String(describing: health))")

        harness.start()
        try await harness.produce([payment("fatal-\(LocalStack.runID())")])
        let error = await harness.stopped(within: .seconds(60))
        #expect((error as? KafkaError)?.isFatal == true, "the engine stopped with \(String(describing: error))")
        harness.runtime.close()
    }
}
