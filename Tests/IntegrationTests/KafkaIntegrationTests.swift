import Kafka
import Logging
import Testing
import LocalStackSupport

/// Against the Tansu broker that scripts/test starts (WAQITI_KAFKA_BROKERS), through the
/// librdkafka runtime that env.sh puts first on the library path.
@Suite("Kafka against the Tansu broker", .enabled(if: LocalStack.isEnabled, LocalStack.skipMessage))
struct KafkaIntegrationTests {
    let client: KafkaClientConfiguration

    init() throws {
        client = KafkaClientConfiguration(brokers: try LocalStack.required("WAQITI_KAFKA_BROKERS"), clientID: "waqiti-integration-tests")
    }

    func freshTopic(_ stem: String, partitions: Int32) throws -> String {
        let topic = LocalStack.uniqueName(stem)
        #expect(try KafkaAdmin(configuration: client).createTopic(topic, partitions: partitions))
        return topic
    }

    func consumer(group: String?) throws -> KafkaConsumer {
        try KafkaConsumer(configuration: KafkaConsumerConfiguration(client: client, groupID: group))
    }

    @Test("The runtime librdkafka is new enough for Tansu")
    func runtimeVersion() {
        #expect(!KafkaLibrary.isOlderThanTansuNeeds, "loaded librdkafka \(KafkaLibrary.version); source deploy/local/env.sh")
    }

    @Test("10,000 messages arrive exactly once through a consumer group; commits equal the end offsets; the group then reads nothing")
    func produceConsumeCommit() async throws {
        let topic = try freshTopic("exactly-once", partitions: 3)
        let count = 10_000
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: client))
        let messages = (0..<count).map { KafkaProducerMessage(topic: topic, key: "key-\($0)", value: "value-\($0)") }
        let acknowledgements = try await producer.send(messages)
        try producer.close()
        #expect(acknowledgements.count == count)
        // Per partition, the broker assigned offsets 0, 1, 2, … in produce order.
        let byPartition = Dictionary(grouping: acknowledgements, by: \.partition)
        #expect(Set(byPartition.keys).isSubset(of: [0, 1, 2]))
        for (_, acks) in byPartition { #expect(acks.map(\.offset) == Array(0..<Int64(acks.count))) }

        let group = LocalStack.uniqueName("group")
        let first = try consumer(group: group)
        try first.subscribe(topics: [topic])
        var received: [String: String] = [:]
        var duplicates = 0
        var assigned: [KafkaTopicPartition] = []
        let deadline = ContinuousClock.now + .seconds(90)
        for try await batch in first.batches(maxMessages: 1_000) {
            for case .assigned(let partitions) in batch.events { assigned += partitions }
            for message in batch.messages {
                let key = String(decoding: message.key ?? [], as: UTF8.self)
                if received.updateValue(String(decoding: message.value, as: UTF8.self), forKey: key) != nil { duplicates += 1 }
            }
            try first.commit(batch.nextOffsets, mode: .sync)
            if received.count == count || ContinuousClock.now > deadline { break }
        }
        #expect(duplicates == 0)
        #expect(received.count == count)
        // Count the mismatches rather than comparing whole dictionaries: a failure then prints
        // a number and a few keys, not 10,000 entries.
        let wrong = (0..<count).filter { received["key-\($0)"] != "value-\($0)" }
        #expect(wrong.isEmpty, "\(wrong.count) keys missing or with the wrong value, e.g. \(wrong.prefix(5).map { "key-\($0)" })")
        #expect(assigned.sorted() == (0..<3).map { KafkaTopicPartition(topic: topic, partition: $0) })

        // The end of each partition, from the acknowledgements (Tansu's watermarks are per batch).
        var ends: [KafkaTopicPartition: Int64] = [:]
        for (partition, acks) in byPartition { ends[KafkaTopicPartition(topic: topic, partition: partition)] = Int64(acks.count) }
        #expect(try first.committed(ends.keys.sorted()) == ends)
        // Committing the same offsets again (nothing new) is fine.
        try first.commit(ends.map { KafkaTopicPartitionOffset(topic: $0.key.topic, partition: $0.key.partition, offset: $0.value) })
        first.close()

        let second = try consumer(group: group)
        try second.subscribe(topics: [topic])
        var secondAssigned = false
        var secondMessages = 0
        let secondDeadline = ContinuousClock.now + .seconds(60)
        var quietPollsAfterAssignment = 0
        while quietPollsAfterAssignment < 20, ContinuousClock.now < secondDeadline {
            let batch = try second.poll(maxMessages: 1_000, timeout: .milliseconds(100))
            if batch.events.contains(where: { if case .assigned = $0 { true } else { false } }) { secondAssigned = true }
            secondMessages += batch.messages.count
            if secondAssigned { quietPollsAfterAssignment += 1 }
        }
        #expect(secondAssigned)
        #expect(secondMessages == 0)
        second.close()
    }

    @Test("A second member joining splits the partitions: each side sees its assignment as events, disjoint and complete")
    func rebalance() throws {
        let topic = try freshTopic("rebalance", partitions: 6)
        let group = LocalStack.uniqueName("rebalance-group")
        let first = try consumer(group: group)
        let second = try consumer(group: group)
        defer {
            first.close()
            second.close()
        }
        try first.subscribe(topics: [topic])
        var firstOwns: Set<KafkaTopicPartition> = []
        var secondOwns: Set<KafkaTopicPartition> = []
        var firstRevocations = 0
        func apply(_ events: [KafkaConsumerEvent], to owned: inout Set<KafkaTopicPartition>, revocations: inout Int) {
            for event in events {
                switch event {
                case .assigned(let partitions): owned.formUnion(partitions)
                case .revoked(let partitions):
                    owned.subtract(partitions)
                    revocations += 1
                default: break
                }
            }
        }
        let all = Set((0..<Int32(6)).map { KafkaTopicPartition(topic: topic, partition: $0) })
        let deadline = ContinuousClock.now + .seconds(60)
        while firstOwns != all, ContinuousClock.now < deadline {
            apply(try first.poll(timeout: .milliseconds(100)).events, to: &firstOwns, revocations: &firstRevocations)
        }
        #expect(firstOwns == all)

        try second.subscribe(topics: [topic])
        var unused = 0
        while !(firstOwns.count == 3 && secondOwns.count == 3), ContinuousClock.now < deadline {
            apply(try first.poll(timeout: .milliseconds(50)).events, to: &firstOwns, revocations: &firstRevocations)
            apply(try second.poll(timeout: .milliseconds(50)).events, to: &secondOwns, revocations: &unused)
        }
        #expect(firstRevocations >= 1)
        #expect(firstOwns.count == 3)
        #expect(secondOwns.count == 3)
        #expect(firstOwns.isDisjoint(with: secondOwns))
        #expect(firstOwns.union(secondOwns) == all)
    }

    @Test("An asynchronous commit lands without blocking; the group reads it back")
    func asyncCommit() async throws {
        let topic = try freshTopic("async-commit", partitions: 1)
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: client))
        _ = try await producer.send((0..<5).map { KafkaProducerMessage(topic: topic, key: "k\($0)", value: "v") })
        try producer.close()
        let member = try consumer(group: LocalStack.uniqueName("async-group"))
        try member.subscribe(topics: [topic])
        var read = 0
        for try await batch in member.batches() {
            read += batch.messages.count
            try member.commit(batch.nextOffsets, mode: .async)
            if read == 5 { break }
        }
        let partition = KafkaTopicPartition(topic: topic, partition: 0)
        let deadline = ContinuousClock.now + .seconds(10)
        var committed: [KafkaTopicPartition: Int64] = [:]
        while committed[partition] != 5, ContinuousClock.now < deadline {
            let batch = try member.poll(timeout: .milliseconds(100))  // serves the commit callback
            #expect(!batch.events.contains { if case .commitFailed = $0 { true } else { false } })
            committed = try member.committed([partition])
        }
        #expect(committed == [partition: 5])
        member.close()
    }

    @Test("Assign mode reads exactly a partition's offset range without joining a group, then ends")
    func replayRange() async throws {
        let topic = try freshTopic("replay", partitions: 1)
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: client))
        let headers = [KafkaHeader(name: "schema", value: "payment.v1"), KafkaHeader(name: "trace", value: nil)]
        let sent = (0..<30).map { KafkaProducerMessage(topic: topic, key: Array("k\($0)".utf8), value: [0x00, UInt8($0), 0xFF], headers: headers) }
        _ = try await producer.send(sent)
        try producer.close()

        let reader = try consumer(group: nil)
        try reader.assign([KafkaPartitionRange(topic: topic, partition: 0, start: .offset(10), end: 20)])
        var read: [KafkaConsumerMessage] = []
        for try await batch in reader.batches(maxMessages: 7) { read += batch.messages }
        #expect(reader.isReplayComplete)
        #expect(read.map(\.offset) == Array(10..<20))
        #expect(read.map(\.value) == (10..<20).map { [0x00, UInt8($0), 0xFF] })
        #expect(read.map { $0.key.map { String(decoding: $0, as: UTF8.self) } } == (10..<20).map { "k\($0)" })
        #expect(read.allSatisfy { $0.headers == headers })
        #expect(read.allSatisfy { ($0.timestampMilliseconds ?? 0) > 1_700_000_000_000 })
        reader.close()
    }

    @Test("Messages that cannot reach a broker fail the batch with _MSG_TIMED_OUT for each")
    func unreachableBroker() async throws {
        var configuration = KafkaProducerConfiguration(client: KafkaClientConfiguration(bootstrapServers: ["127.0.0.1:1"], clientID: "waqiti-unreachable"))
        configuration.messageTimeout = .seconds(1)
        var quiet = Logger(label: "waqiti.kafka.unreachable")
        quiet.logLevel = .critical  // the refused connects are expected here
        let producer = try KafkaProducer(configuration: configuration, logger: quiet)
        let messages = (0..<3).map { KafkaProducerMessage(topic: "payments", key: "k\($0)", value: "v") }
        await #expect(throws: KafkaError.deliveryFailed(
            failures: (0..<3).map { KafkaDeliveryFailure(index: $0, topic: "payments", code: .messageTimedOut) }, batchSize: 3)) {
            try await producer.send(messages)
        }
        try producer.close(timeout: .seconds(1))
        await #expect(throws: KafkaError.closed) { try await producer.send(messages) }
    }

    @Test("Watermarks: low 0, high one past the last offset (single-record batches, see KafkaConsumer.watermarks)")
    func watermarks() async throws {
        let topic = try freshTopic("watermarks", partitions: 1)
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: client))
        for index in 0..<3 { _ = try await producer.send([KafkaProducerMessage(topic: topic, key: "k", value: "\(index)")]) }
        try producer.close()
        let reader = try consumer(group: nil)
        let (low, high) = try reader.watermarks(topic: topic, partition: 0)
        #expect(low == 0)
        #expect(high == 3)
        #expect(throws: KafkaError.invalidConfiguration(key: "group.id", reason: "commit needs a consumer group; this consumer is assign-only (groupID nil)")) {
            try reader.commit([KafkaTopicPartitionOffset(topic: topic, partition: 0, offset: 3)])
        }
        reader.close()
    }

    @Test("Creating a topic that exists is refused unless asked to ignore it")
    func existingTopic() throws {
        let topic = try freshTopic("exists", partitions: 1)
        let admin = try KafkaAdmin(configuration: client)
        #expect(try admin.createTopic(topic, partitions: 1, ignoreExisting: true) == false)
        #expect(throws: KafkaError.operationFailed(operation: "create topic \(topic)", code: KafkaErrorCode(rawValue: 36))) {
            try admin.createTopic(topic, partitions: 1)
        }
    }
}
