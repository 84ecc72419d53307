import Engine
import Foundation
import FraudCore
import Kafka
import Logging
import ServiceLifecycle
import Testing

/// Runs only under scripts/test (WAQITI_INTEGRATION=1, local stack started); then a missing
/// service is a failure, never a skip.
private let integrationEnabled = ProcessInfo.processInfo.environment["WAQITI_INTEGRATION"] == "1"
private let skipMessage: Comment = "SKIPPED: needs the real broker and Redis; run scripts/test (or start deploy/local, source env.sh, set WAQITI_INTEGRATION=1)"

private func environment(_ name: String) throws -> String {
    guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else {
        Issue.record("\(name) is not set: source deploy/local/env.sh after deploy/local/start.sh")
        throw CancellationError()
    }
    return value
}

@Suite("waqiti serve pipeline against the real broker and Redis", .enabled(if: integrationEnabled, skipMessage))
struct ServePipelineIntegrationTests {
    @Test("simulated payments in, exactly one decision per payment_id out (redeliveries identical), bad messages dead-lettered, offsets committed")
    func endToEnd() async throws {
        let brokers = try environment("WAQITI_KAFKA_BROKERS")
        let redisURL = try environment("WAQITI_REDIS_URL")
        let run = UInt64.random(in: 0...UInt64.max) & 0xFFFF_FFFF
        let client = KafkaClientConfiguration(brokers: brokers, clientID: "waqiti-engine-tests")
        let admin = try KafkaAdmin(configuration: client)
        var configuration = EngineConfiguration()
        configuration.kafka.brokers = brokers
        configuration.kafka.paymentsTopic = "waqiti-test-payments-\(run)"
        configuration.kafka.decisionsTopic = "waqiti-test-decisions-\(run)"
        configuration.kafka.deadLetterTopic = "waqiti-test-dlq-\(run)"
        configuration.kafka.groupID = "waqiti-test-group-\(run)"
        configuration.features.redisURL = redisURL
        configuration.modelFile = nil
        let rulesFile = FileManager.default.temporaryDirectory.appendingPathComponent("serve-\(run).rules").path
        try """
        version "it-1"
        rule card_velocity: decline +50 if count(card_fingerprint, 10m) >= 4
        rule big: review +10 if amount > 500.00 USD
        """.write(toFile: rulesFile, atomically: true, encoding: .utf8)
        configuration.rulesFile = rulesFile
        for topic in [configuration.kafka.paymentsTopic, configuration.kafka.decisionsTopic, configuration.kafka.deadLetterTopic] {
            #expect(try admin.createTopic(topic, partitions: topic == configuration.kafka.paymentsTopic ? 3 : 1))
        }

        // 2,000 payments (WAQITI_IT_EVENTS to change it, e.g. 100000) from 40 accounts, then the
        // first 200 again (redeliveries), then 3 bad messages.
        let count = max(200, Int(ProcessInfo.processInfo.environment["WAQITI_IT_EVENTS"] ?? "") ?? 2000)
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: client))
        func event(_ i: Int) -> String {
            let ms = 1_795_948_200_000 + Int64(i) * 1000
            return """
            {"payment_id":"it-\(run)-\(i)","occurred_at":\(ms),"account_id":"acct-\(i % 40)","card_fingerprint":"card-\(i % 40)","device_id":"dev-\(i % 7)","ip":"203.0.113.\(i % 200)","merchant_id":"m-\(i % 13)","mcc":"5411","amount_minor":\(1000 + (i * 7919) % 90000),"currency":"USD","card_country":"US","ip_country":"US","channel":"ecom","type":"payment"}
            """
        }
        var messages = (0..<count).map { KafkaProducerMessage(topic: configuration.kafka.paymentsTopic, key: "acct-\($0 % 40)", value: event($0)) }
        messages += (0..<200).map { KafkaProducerMessage(topic: configuration.kafka.paymentsTopic, key: "acct-\($0 % 40)", value: event($0)) }
        messages += ["{\"payment_id\": 7}", "not json at all", String(repeating: "x", count: 70_000)].map {
            KafkaProducerMessage(topic: configuration.kafka.paymentsTopic, key: "acct-bad", value: $0)
        }
        for chunk in stride(from: 0, to: messages.count, by: 10_000) {
            _ = try await producer.send(Array(messages[chunk..<min(chunk + 10_000, messages.count)]))
        }

        let logger = Logger(label: "serve-it")
        let runtime = try EngineRuntime(configuration: configuration, withKafka: true, logger: logger)
        let group = ServiceGroup(configuration: .init(services: runtime.services.map { .init(service: $0) }, logger: logger))

        var reader = KafkaConsumerConfiguration(client: client, groupID: nil)
        reader.offsetReset = .earliest
        let decisionsReader = try KafkaConsumer(configuration: reader)
        try decisionsReader.assign([KafkaPartitionRange(topic: configuration.kafka.decisionsTopic, partition: 0, start: .beginning)])
        let lettersReader = try KafkaConsumer(configuration: reader)
        try lettersReader.assign([KafkaPartitionRange(topic: configuration.kafka.deadLetterTopic, partition: 0, start: .beginning)])

        var decisions: [String: [[UInt8]]] = [:]
        var received = 0
        var letters: [KafkaConsumerMessage] = []
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let deadline = ContinuousClock.now + .seconds(120 + count / 500)
            while (received < count + 200 || letters.count < 3), ContinuousClock.now < deadline {
                for message in try decisionsReader.poll(maxMessages: 1000, timeout: .milliseconds(200)).messages {
                    decisions[String(decoding: message.key ?? [], as: UTF8.self), default: []].append(message.value)
                    received += 1
                }
                letters += try lettersReader.poll(maxMessages: 10, timeout: .milliseconds(10)).messages
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        runtime.close()

        #expect(received == count + 200)
        #expect(decisions.count == count)
        #expect(decisions.values.filter { $0.count == 2 }.count == 200)
        #expect(decisions.values.allSatisfy { Set($0).count == 1 }, "a redelivered payment gets a byte-identical decision")
        #expect(letters.count == 3)
        let reasons = letters.map { message in message.headers.first { $0.name == "waqiti-error-kind" }.flatMap { $0.value.map { String(decoding: $0, as: UTF8.self) } } }
        #expect(reasons.contains("oversized"))
        #expect(letters.allSatisfy { $0.headers.contains { $0.name == "waqiti-source-offset" } })
        // Every payment was committed: a fresh member of the group would start at the end.
        let committedReader = try KafkaConsumer(configuration: KafkaConsumerConfiguration(client: client, groupID: configuration.kafka.groupID))
        let committed = try committedReader.committed((0..<3).map { KafkaTopicPartition(topic: configuration.kafka.paymentsTopic, partition: $0) })
        #expect(committed.values.reduce(0, +) == Int64(count + 200 + 3))
        committedReader.close()
        decisionsReader.close()
        lettersReader.close()
    }
}
