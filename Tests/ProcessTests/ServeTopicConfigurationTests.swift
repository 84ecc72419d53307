import Foundation
import Testing
import LocalStackSupport

/// `waqiti serve` refuses a dead-letter topic that is its payments topic before it connects to
/// anything: exit 78 (a configuration error, like every other bad setting) and a message naming
/// both keys. Before, it started and looped: each dead letter was read back as a payment.
@Suite("serve refuses colliding topics", .enabled(if: LocalStack.isEnabled, LocalStack.skipMessage), .temporaryFolder)
struct ServeTopicConfigurationTests {
    @Test("kafka.dlq_topic equal to kafka.payments_topic: exit 78 with the keys named")
    func deadLettersOntoPayments() async throws {
        let result = try await WaqitiProcess.run(["serve"], environment: [
            "WAQITI_KAFKA_PAYMENTS_TOPIC": "r1-orders", "WAQITI_KAFKA_DLQ_TOPIC": "r1-orders",
            "WAQITI_FEATURES_STORE": "memory", "WAQITI_MODEL_FILE": "none", "WAQITI_HTTP_PORT": "0",
        ], timeout: .seconds(60))
        #expect(result.status == 78)
        // The rules are loaded (and logged) before the Kafka settings are checked.
        #expect(result.stderr.split(separator: "\n").last == "waqiti serve: configuration error: configuration: kafka.dlq_topic: \"r1-orders\" is also kafka.payments_topic: the engine would read what it publishes back as payments; give kafka.dlq_topic a topic of its own, such as payments-dlq")
    }
}
