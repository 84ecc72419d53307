import Engine
import Foundation
import Logging
import Testing
import LocalStackSupport

/// `kafka.payments_topic`, `kafka.decisions_topic` and `kafka.dlq_topic` must name three topics.
/// With `kafka.dlq_topic` equal to the payments topic, one malformed message was dead-lettered
/// onto the topic it came from, read back, dead-lettered again, and so on: 772 dead letters in
/// 5 s from one bad message, for as long as the engine ran. No services: the check comes before
/// any Kafka client is made.
@Suite("Kafka topics of serve must differ", .temporaryFolder)
struct KafkaTopicCollisionTests {
    private func configuration(_ configure: (inout EngineConfiguration.Kafka) -> Void) throws -> EngineConfiguration {
        let rulesFile = TemporaryFolder.current.path("topics.rules")
        try """
        version "topics-1"
        rule burst: decline +50 if count(account_id, 10m) >= 4
        """.write(toFile: rulesFile, atomically: true, encoding: .utf8)
        var configuration = EngineConfiguration()
        configuration.rulesFile = rulesFile
        configuration.modelFile = nil
        configuration.features.store = .memory
        configure(&configuration.kafka)
        return configuration
    }

    @Test("a topic named twice is a configuration error naming both keys", arguments: [
        ("payments", "fraud-decisions", "payments",
         "configuration: kafka.dlq_topic: \"payments\" is also kafka.payments_topic: the engine would read what it publishes back as payments; give kafka.dlq_topic a topic of its own, such as payments-dlq"),
        ("payments", "payments", "payments-dlq",
         "configuration: kafka.decisions_topic: \"payments\" is also kafka.payments_topic: the engine would read what it publishes back as payments; give kafka.decisions_topic a topic of its own, such as fraud-decisions"),
        ("payments", "fraud-decisions", "fraud-decisions",
         "configuration: kafka.dlq_topic: \"fraud-decisions\" is also kafka.decisions_topic: dead letters would reach the decisions' consumers as malformed decisions; give kafka.dlq_topic a topic of its own, such as payments-dlq"),
    ])
    func collision(payments: String, decisions: String, deadLetters: String, message: String) throws {
        let configuration = try configuration {
            $0.paymentsTopic = payments
            $0.decisionsTopic = decisions
            $0.deadLetterTopic = deadLetters
        }
        do {
            _ = try EngineRuntime(configuration: configuration, withKafka: true, logger: Logger(label: "topics-tests"))
            Issue.record("a runtime was built with topics \(payments), \(decisions), \(deadLetters)")
        } catch EngineRuntime.StartError.configuration(let error) {
            #expect(error.key == (message.contains("kafka.dlq_topic:") ? "kafka.dlq_topic" : "kafka.decisions_topic"))
            #expect(EngineRuntime.StartError.configuration(error).description == message)
        }
    }

    @Test("three distinct topics, and HTTP-only serving, start as before")
    func distinct() throws {
        let kafka = try EngineRuntime(configuration: configuration { _ in }, withKafka: true, logger: Logger(label: "topics-tests"))
        #expect(kafka.services.count == 3)
        kafka.close(within: .seconds(5))
        // Without Kafka the topics are not used, so they are not checked.
        let httpOnly = try EngineRuntime(
            configuration: configuration { $0.deadLetterTopic = $0.paymentsTopic }, withKafka: false, logger: Logger(label: "topics-tests"))
        #expect(httpOnly.services.count == 1)
    }
}
