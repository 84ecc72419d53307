import Testing
@testable import Kafka

@Suite("Kafka configuration")
struct KafkaConfigurationTests {
    let client = KafkaClientConfiguration(brokers: "127.0.0.1:19092, [::1]:9092", clientID: "waqiti-engine")

    @Test("Producer defaults map to the librdkafka keys the engine relies on")
    func producerDefaults() throws {
        let properties = Dictionary(uniqueKeysWithValues: try KafkaProducerConfiguration(client: client).properties())
        #expect(properties == [
            "bootstrap.servers": "127.0.0.1:19092,[::1]:9092", "client.id": "waqiti-engine", "socket.timeout.ms": "10000",
            "acks": "all", "enable.idempotence": "true", "linger.ms": "5", "batch.size": "1000000",
            "batch.num.messages": "10000", "message.timeout.ms": "30000", "message.max.bytes": "1000000",
            "queue.buffering.max.messages": "100000", "compression.codec": "none",
        ])
    }

    @Test("Consumer defaults: short session, no automatic commits or offset stores")
    func consumerDefaults() throws {
        let properties = Dictionary(uniqueKeysWithValues: try KafkaConsumerConfiguration(client: client, groupID: "engine").properties())
        #expect(properties == [
            "bootstrap.servers": "127.0.0.1:19092,[::1]:9092", "client.id": "waqiti-engine", "socket.timeout.ms": "10000",
            "group.id": "engine", "session.timeout.ms": "6000", "heartbeat.interval.ms": "1000", "max.poll.interval.ms": "300000",
            "auto.offset.reset": "earliest", "enable.partition.eof": "false", "fetch.wait.max.ms": "100",
            "enable.auto.commit": "false", "enable.auto.offset.store": "false",
        ])
    }

    @Test("Escape-hatch properties are added after the typed ones")
    func additionalProperties() throws {
        var configuration = KafkaProducerConfiguration(client: client)
        configuration.client.additionalProperties = ["statistics.interval.ms": "1000"]
        let properties = try configuration.properties()
        #expect(properties.last! == ("statistics.interval.ms", "1000"))
    }

    /// A producer configuration with one change, and the error it must cause.
    struct InvalidCase: Sendable, CustomTestStringConvertible {
        let configuration: KafkaProducerConfiguration
        let error: KafkaError
        var testDescription: String { error.description }
    }

    static func producer(_ change: @Sendable (inout KafkaProducerConfiguration) -> Void, _ error: KafkaError) -> InvalidCase {
        var configuration = KafkaProducerConfiguration(client: KafkaClientConfiguration(bootstrapServers: ["h:1"], clientID: "c"))
        change(&configuration)
        return InvalidCase(configuration: configuration, error: error)
    }

    @Test("Invalid producer settings are rejected before librdkafka sees them", arguments: [
        producer({ $0.client.bootstrapServers = [] }, KafkaError.invalidConfiguration(key: "bootstrap.servers", reason: "no broker given; set e.g. WAQITI_KAFKA_BROKERS=127.0.0.1:19092")),
        producer({ $0.client.bootstrapServers = ["localhost"] }, KafkaError.invalidConfiguration(key: "bootstrap.servers", reason: "'localhost' is not host:port with a port from 1 to 65535")),
        producer({ $0.client.bootstrapServers = ["h:70000"] }, KafkaError.invalidConfiguration(key: "bootstrap.servers", reason: "'h:70000' is not host:port with a port from 1 to 65535")),
        producer({ $0.client.clientID = "has space" }, KafkaError.invalidConfiguration(key: "client.id", reason: "'has space' must be non-empty ASCII without spaces")),
        producer({ $0.acknowledgements = .leader }, KafkaError.invalidConfiguration(key: "acks", reason: "idempotence needs acks=all; set acknowledgements = .all or idempotence = false")),
        producer({ $0.linger = .seconds(1000) }, KafkaError.invalidConfiguration(key: "linger.ms", reason: "1000000 ms is outside 0...900000 ms")),
        producer({ $0.batchMessages = 0 }, KafkaError.invalidConfiguration(key: "batch.num.messages", reason: "0 is not from 1 to 1000000")),
        producer({ $0.maxMessageBytes = 999 }, KafkaError.invalidConfiguration(key: "message.max.bytes", reason: "999 is not from 1000 to 1000000000 bytes")),
        producer({ $0.client.additionalProperties = ["acks": "1"] }, KafkaError.invalidConfiguration(key: "acks", reason: "set through its typed field, not additionalProperties")),
        producer({ $0.client.additionalProperties = ["debug.x": ""] }, KafkaError.invalidConfiguration(key: "debug.x", reason: "keys and values in additionalProperties must be non-empty")),
    ])
    func invalidProducer(_ invalid: InvalidCase) {
        #expect(throws: invalid.error) { try invalid.configuration.properties() }
    }

    @Test("Invalid consumer settings are rejected with the key that is wrong")
    func invalidConsumer() {
        var configuration = KafkaConsumerConfiguration(client: client, groupID: "")
        #expect(throws: KafkaError.invalidConfiguration(key: "group.id", reason: "empty; use nil for an assign-only consumer")) {
            try configuration.properties()
        }
        configuration.groupID = "g"
        configuration.heartbeatInterval = .seconds(3)
        #expect(throws: KafkaError.invalidConfiguration(key: "heartbeat.interval.ms", reason: "3000 ms is more than a third of session.timeout.ms (6000 ms)")) {
            try configuration.properties()
        }
    }

    @Test("librdkafka's own validation reaches the caller as a typed error")
    func librdkafkaRejects() {
        var configuration = KafkaProducerConfiguration(client: client)
        configuration.client.additionalProperties = ["no.such.property": "1"]
        #expect(throws: KafkaError.invalidConfiguration(key: "no.such.property", reason: "No such configuration property: \"no.such.property\"")) {
            try KafkaProducer(configuration: configuration)
        }
    }
}
