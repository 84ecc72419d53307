import Engine
import Foundation
import FraudCore
import Kafka
import Logging
import ServiceLifecycle
import Testing
import LocalStackSupport

/// One `waqiti serve` engine (its EngineRuntime services in a ServiceGroup, as `waqiti serve`
/// runs them) on topics of its own, with a producer for `payments` and readers of its decisions
/// and dead letters, all against the real broker and Redis.
final class EngineHarness {
    let configuration: EngineConfiguration
    let runtime: EngineRuntime
    let client: KafkaClientConfiguration
    private let producer: KafkaProducer
    private let decisionsReader: KafkaConsumer
    private let lettersReader: KafkaConsumer
    private var running: Task<Void, any Error>?
    private let group: ServiceGroup

    /// - Parameters:
    ///   - rules: the rules file's text (written to `TemporaryFolder.current`, so the suite needs
    ///     `.temporaryFolder`), or nil for `rules/default.rules`.
    ///   - configure: last changes to the configuration (store, Redis URL, policy, …).
    init(rules: String?, paymentPartitions: Int32 = 3, configure: (inout EngineConfiguration) -> Void = { _ in }) throws {
        let brokers = try LocalStack.required("WAQITI_KAFKA_BROKERS")
        let redisURL = try LocalStack.required("WAQITI_REDIS_URL")
        let run = LocalStack.runID()
        client = KafkaClientConfiguration(brokers: brokers, clientID: "waqiti-engine-tests")
        var configuration = EngineConfiguration()
        configuration.kafka.brokers = brokers
        configuration.kafka.paymentsTopic = "waqiti-test-payments-\(run)"
        configuration.kafka.decisionsTopic = "waqiti-test-decisions-\(run)"
        configuration.kafka.deadLetterTopic = "waqiti-test-dlq-\(run)"
        configuration.kafka.groupID = "waqiti-test-group-\(run)"
        configuration.features.redisURL = redisURL
        configuration.modelFile = nil
        if let rules {
            let rulesFile = TemporaryFolder.current.path("engine-it.rules")
            try rules.write(toFile: rulesFile, atomically: true, encoding: .utf8)
            configuration.rulesFile = rulesFile
        } else {
            configuration.rulesFile = EngineHarness.repositoryRoot + "/rules/default.rules"
        }
        configure(&configuration)
        self.configuration = configuration

        let admin = try KafkaAdmin(configuration: client)
        #expect(try admin.createTopic(configuration.kafka.paymentsTopic, partitions: paymentPartitions))
        #expect(try admin.createTopic(configuration.kafka.decisionsTopic, partitions: 1))
        #expect(try admin.createTopic(configuration.kafka.deadLetterTopic, partitions: 1))
        var producerConfiguration = KafkaProducerConfiguration(client: client)
        // Hostile payments may be larger than the engine's own producer may send.
        producerConfiguration.maxMessageBytes = 8_000_000
        producer = try KafkaProducer(configuration: producerConfiguration)

        let logger = Logger(label: "engine-it")
        runtime = try EngineRuntime(configuration: configuration, withKafka: true, logger: logger)
        group = ServiceGroup(configuration: .init(services: runtime.services.map { .init(service: $0) }, logger: logger))
        var reader = KafkaConsumerConfiguration(client: client, groupID: nil)
        reader.offsetReset = .earliest
        decisionsReader = try KafkaConsumer(configuration: reader)
        try decisionsReader.assign([KafkaPartitionRange(topic: configuration.kafka.decisionsTopic, partition: 0, start: .beginning)])
        lettersReader = try KafkaConsumer(configuration: reader)
        try lettersReader.assign([KafkaPartitionRange(topic: configuration.kafka.deadLetterTopic, partition: 0, start: .beginning)])
    }

    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path

    /// Publishes raw payment messages to `payments`, in chunks the broker acknowledges; returns
    /// where each landed.
    @discardableResult
    func produce(_ messages: [(key: String, value: [UInt8])]) async throws -> [KafkaAcknowledgement] {
        let topic = configuration.kafka.paymentsTopic
        var landed: [KafkaAcknowledgement] = []
        for start in stride(from: 0, to: messages.count, by: 10_000) {
            landed += try await producer.send(messages[start..<min(start + 10_000, messages.count)].map {
                KafkaProducerMessage(topic: topic, key: Array($0.key.utf8), value: $0.value)
            })
        }
        return landed
    }

    /// Publishes events in their wire form, keyed by account_id as the platform does.
    @discardableResult
    func produce(_ events: [PaymentEvent]) async throws -> [KafkaAcknowledgement] {
        let encoder = EventEncoder()
        return try await produce(events.map { ($0.accountID, encoder.encode($0)) })
    }

    func start() {
        running = Task { [group] in try await group.run() }
    }

    /// The next `count` decision messages, in topic order; fewer if `timeout` passes first.
    func decisions(_ count: Int, timeout: Duration) async throws -> [KafkaConsumerMessage] {
        try await read(count, from: decisionsReader, timeout: timeout)
    }

    /// The next `count` dead letters, in topic order; fewer if `timeout` passes first.
    func deadLetters(_ count: Int, timeout: Duration) async throws -> [KafkaConsumerMessage] {
        try await read(count, from: lettersReader, timeout: timeout)
    }

    /// Polls without blocking and sleeps between empty polls, so the reader does not hold one
    /// of the few cooperative threads the engine under test needs.
    private func read(_ count: Int, from reader: KafkaConsumer, timeout: Duration) async throws -> [KafkaConsumerMessage] {
        var messages: [KafkaConsumerMessage] = []
        let deadline = ContinuousClock.now + timeout
        while messages.count < count, ContinuousClock.now < deadline {
            let batch = try reader.poll(maxMessages: min(5000, count - messages.count), timeout: .milliseconds(1)).messages
            if batch.isEmpty { try await Task.sleep(for: .milliseconds(20)) }
            messages += batch
        }
        return messages
    }

    /// What `/actuator/health` would say about `component` right now.
    func health(_ component: String) async -> ComponentHealth? {
        guard let indicator = runtime.health.first(where: { $0.name == component }) else { return nil }
        return await indicator.check()
    }

    /// Waits until the engine's services stopped on their own (a service threw, which stops the
    /// group) and returns the error they stopped with; nil if they returned. Stops them and
    /// records a failure after `limit`.
    func stopped(within limit: Duration) async -> (any Error)? {
        guard let running else { return nil }
        return await outcome(within: limit) { try await running.value }
    }

    /// SIGTERM's path: drain, commit, stop; then close the clients.
    func stop() async throws {
        await group.triggerGracefulShutdown()
        try await running?.value
        runtime.close()
        decisionsReader.close()
        lettersReader.close()
    }
}
