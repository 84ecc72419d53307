import Foundation
import Kafka
import Testing
import LocalStackSupport

/// Kafka topics and a consumer group of one test's own, created on the local broker, so an
/// engine under test reads nothing another test wrote.
struct EngineTopics: Sendable {
    let payments: String
    let decisions: String
    let deadLetters: String
    let group: String
    let brokers: String

    /// Creates `payments` with `partitions` partitions and one-partition decision and dead-letter
    /// topics, all named after `stem` and a random run id.
    static func create(_ stem: String, partitions: Int32 = 3) throws -> EngineTopics {
        let brokers = try LocalStack.required("WAQITI_KAFKA_BROKERS")
        let base = LocalStack.uniqueName(stem)
        let topics = EngineTopics(
            payments: "\(base)-payments", decisions: "\(base)-decisions", deadLetters: "\(base)-dlq",
            group: "\(base)-group", brokers: brokers)
        let admin = try KafkaAdmin(configuration: topics.client)
        for (topic, count) in [(topics.payments, partitions), (topics.decisions, 1), (topics.deadLetters, 1)] {
            _ = try admin.createTopic(topic, partitions: count)
        }
        return topics
    }

    /// A librdkafka client configuration for the test's own producers and readers.
    var client: KafkaClientConfiguration { KafkaClientConfiguration(brokers: brokers, clientID: "waqiti-process-tests") }

    /// The `WAQITI_*` variables that point `waqiti serve` at these topics and group.
    var environment: [String: String] {
        [
            "WAQITI_KAFKA_BROKERS": brokers,
            "WAQITI_KAFKA_PAYMENTS_TOPIC": payments,
            "WAQITI_KAFKA_DECISIONS_TOPIC": decisions,
            "WAQITI_KAFKA_DLQ_TOPIC": deadLetters,
            "WAQITI_KAFKA_GROUP_ID": group,
        ]
    }
}

/// A running `waqiti serve` on its own topics, HTTP port and API key: the engine as an operator
/// runs it, for end-to-end tests.
final class ServeFixture: @unchecked Sendable {
    let process: WaqitiProcess
    let topics: EngineTopics
    let port: Int
    let apiKey: String

    /// Starts the engine and waits until its HTTP server answers. `environment` adds or overrides
    /// variables (rules file, model, feature store…); by default the store is in memory and the
    /// model is off, so the test controls every input to the decision.
    init(
        name: String, topics: EngineTopics, environment: [String: String] = [:], port: Int? = nil,
        startupTimeout: Duration = .seconds(120)
    ) async throws {
        self.topics = topics
        self.port = try port ?? ProcessEnvironment.freePort()
        apiKey = "ptest-key-\(UInt64.random(in: 0...UInt64.max))"
        var variables = topics.environment
        variables["WAQITI_HTTP_PORT"] = String(self.port)
        variables["WAQITI_API_KEYS"] = Self.keyList(apiKey)
        variables["WAQITI_FEATURES_STORE"] = "memory"
        variables["WAQITI_MODEL_FILE"] = "none"
        variables.merge(environment) { _, new in new }
        process = try WaqitiProcess(["serve"], environment: variables, name: name)
        try await process.waitForHTTP(url("/actuator/health"), timeout: startupTimeout)
    }

    /// `WAQITI_API_KEYS` with `key` holding every scope (docs/api.md, Scopes), named
    /// `acceptance`: the subject reviews resolved with it are recorded as.
    static func keyList(_ key: String) -> String {
        "acceptance:score:update+rules:read+metrics:read+payments:write+payments:read+reviews:read+reviews:resolve"
            + "+wallet:read+wallet:topup+wallet:hold+reconciliation:read:" + key
    }

    /// `http://127.0.0.1:PORT` + `path`.
    func url(_ path: String) -> URL { URL(string: "http://127.0.0.1:\(port)\(path)")! }

    /// An authenticated request to the engine.
    func request(_ method: String, _ path: String, body: Data? = nil) async throws -> HTTP.Response {
        try await HTTP.request(method, url(path), headers: ["X-API-Key": apiKey, "Content-Type": "application/json"], body: body)
    }
}
