import Engine
import Kafka
import Logging
import Testing
import LocalStackSupport

/// The assignment epochs the pipeline's commits are checked against come from librdkafka's
/// rebalance callback: checked here on a real group member of the Tansu broker.
@Suite("Assignment epochs against the real broker", .enabled(if: LocalStack.isEnabled, LocalStack.skipMessage))
struct AssignmentEpochIntegrationTests {
    @Test("a group member's messages carry the epoch of their partition's assignment; a revocation moves it on", .timeLimit(.minutes(1)))
    func epochsFollowRebalances() async throws {
        let client = KafkaClientConfiguration(brokers: try LocalStack.required("WAQITI_KAFKA_BROKERS"), clientID: "waqiti-epoch-tests")
        let topic = LocalStack.uniqueName("epochs")
        #expect(try KafkaAdmin(configuration: client).createTopic(topic, partitions: 1))
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: client))
        _ = try await producer.send((0..<3).map { KafkaProducerMessage(topic: topic, key: "k", value: "\($0)") })
        try producer.close()

        let member = try KafkaConsumer(configuration: KafkaConsumerConfiguration(client: client, groupID: LocalStack.uniqueName("epochs-group")))
        let partition = KafkaTopicPartition(topic: topic, partition: 0)
        let source = KafkaMessageSource(consumer: member, logger: Logger(label: "test"))
        #expect(source.assignmentEpoch(of: partition) == 0, "never assigned")
        try member.subscribe(topics: [topic])
        var messages: [KafkaConsumerMessage] = []
        let deadline = ContinuousClock.now + .seconds(45)
        while messages.count < 3, ContinuousClock.now < deadline {
            messages += try member.poll(maxMessages: 10, timeout: .milliseconds(200)).messages
        }
        #expect(messages.map(\.offset) == [0, 1, 2])
        #expect(messages.allSatisfy { $0.assignmentEpoch == 1 }, "\(messages.map(\.assignmentEpoch))")
        #expect(source.assignmentEpoch(of: partition) == 1)

        // Leaving the group revokes the partition: an offset polled before can no longer pass.
        member.close()
        #expect(source.assignmentEpoch(of: partition) == 2)
    }
}
