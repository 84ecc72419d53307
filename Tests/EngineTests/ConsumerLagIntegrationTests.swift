import Engine
import Kafka
import Logging
import Testing
import LocalStackSupport

/// `KafkaPartitionOffsets` and the lag monitor over the Tansu broker that scripts/test starts.
@Suite("Consumer lag against the real broker", .enabled(if: LocalStack.isEnabled, LocalStack.skipMessage))
struct ConsumerLagIntegrationTests {
    @Test("ends, starts and committed offsets of partitions on two topics; lag from the read position, the commit, or the start")
    func offsetsAndLag() async throws {
        let client = KafkaClientConfiguration(brokers: try LocalStack.required("WAQITI_KAFKA_BROKERS"), clientID: "waqiti-lag-tests")
        let admin = try KafkaAdmin(configuration: client)
        let first = LocalStack.uniqueName("lag-a"), second = LocalStack.uniqueName("lag-b")
        #expect(try admin.createTopic(first, partitions: 1))
        #expect(try admin.createTopic(second, partitions: 1))
        // One record per send, so Tansu's per-batch high watermark is exact (KafkaConsumer.watermarks).
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: client))
        for index in 0..<3 { _ = try await producer.send([KafkaProducerMessage(topic: first, key: "k", value: "\(index)")]) }
        for index in 0..<2 { _ = try await producer.send([KafkaProducerMessage(topic: second, key: "k", value: "\(index)")]) }
        try producer.close()

        let member = try KafkaConsumer(configuration: KafkaConsumerConfiguration(client: client, groupID: LocalStack.uniqueName("lag-group")))
        defer { member.close() }
        let a = KafkaTopicPartition(topic: first, partition: 0), b = KafkaTopicPartition(topic: second, partition: 0)
        try member.commit([KafkaTopicPartitionOffset(topic: first, partition: 0, offset: 1)])

        let offsets = KafkaPartitionOffsets(consumer: member, timeout: .seconds(10))
        #expect(try offsets.ends(of: [a, b]) == [a: 3, b: 2])
        #expect(try offsets.starts(of: [a, b]) == [a: 0, b: 0])
        #expect(try offsets.committed([a, b]) == [a: 1])

        let positions = PartitionPositions()
        var assigned = KafkaConsumerBatch()
        assigned.events = [.assigned([a, b])]
        positions.apply(assigned)
        let monitor = ConsumerLagMonitor(positions: positions, offsets: offsets, metrics: EngineMetrics(), logger: Logger(label: "test"))
        // Nothing read yet: a counts from its commit (3 - 1), b from its start (2 - 0).
        #expect(monitor.measure().map(\.lag) == [2, 2])
        var read = KafkaConsumerBatch()
        read.messages = [KafkaConsumerMessage(topic: second, partition: 0, offset: 1, key: nil, value: [])]
        positions.apply(read)
        #expect(monitor.measure().map(\.lag) == [2, 0])
    }
}
