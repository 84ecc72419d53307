import Testing
@testable import Kafka

/// A fatal client error (librdkafka's `_FATAL`, for example an idempotent producer that lost its
/// sequence) is the one producer failure that retrying can never get past: the wrappers must say
/// so instead of reporting it as one more failed delivery.
@Suite("Fatal Kafka client errors")
struct KafkaFatalErrorTests {
    static let outOfOrderSequence = KafkaErrorCode(rawValue: 45)  // OUT_OF_ORDER_SEQUENCE_NUMBER

    @Test("_FATAL, a fatal error and a delivery failed with _FATAL are fatal; timeouts and refusals are not")
    func classification() {
        #expect(KafkaErrorCode.fatal.isFatal)
        #expect(KafkaErrorCode.fatal.name == "_FATAL")
        #expect(!KafkaErrorCode.fatal.refusesMessageForGood, "a fatal error is not one message's fault: leaving the message out would hide it")
        #expect(!KafkaErrorCode.messageTimedOut.isFatal)
        #expect(!KafkaErrorCode.messageSizeTooLarge.isFatal)

        #expect(KafkaError.fatal(code: Self.outOfOrderSequence, reason: "x").isFatal)
        #expect(KafkaError.deliveryFailed(failures: [
            KafkaDeliveryFailure(index: 0, topic: "d", code: .messageTimedOut),
            KafkaDeliveryFailure(index: 1, topic: "d", code: .fatal),
        ], batchSize: 2).isFatal)
        #expect(KafkaError.operationFailed(operation: "produce", code: .fatal).isFatal)
        #expect(!KafkaError.deliveryFailed(failures: [KafkaDeliveryFailure(index: 0, topic: "d", code: .messageTimedOut)], batchSize: 1).isFatal)
        #expect(!KafkaError.timeout(operation: "flush", after: .seconds(1)).isFatal)
        #expect(!KafkaError.closed.isFatal)
        #expect("\(KafkaError.fatal(code: Self.outOfOrderSequence, reason: "sequence lost"))".contains("restart the process"))
    }

    /// No broker is needed: librdkafka raises the fabricated error locally, and a message queued
    /// for an unreachable broker is what a fatal error purges.
    @Test("after a fatal error the producer reports it, refuses new batches with it, and fails queued batches with it")
    func producerAfterFatalError() async throws {
        var configuration = KafkaProducerConfiguration(client: KafkaClientConfiguration(bootstrapServers: ["127.0.0.1:1"], clientID: "waqiti-fatal-test"))
        configuration.messageTimeout = .seconds(60)
        let producer = try KafkaProducer(configuration: configuration)
        #expect(producer.fatalFailure == nil)
        let queued = try await producer.enqueue([KafkaProducerMessage(topic: "decisions", key: nil, value: Array("queued".utf8))])

        producer.triggerFatalErrorForTesting(Self.outOfOrderSequence, reason: "broker lost our sequence")

        let expected = KafkaError.fatal(code: Self.outOfOrderSequence, reason: "test_fatal_error: broker lost our sequence")
        #expect(producer.fatalFailure == expected)
        await #expect(throws: expected) { _ = try await queued.acknowledgements() }
        await #expect(throws: expected) {
            _ = try await producer.enqueue([KafkaProducerMessage(topic: "decisions", key: nil, value: Array("later".utf8))])
        }
    }
}
