import Foundation
import FraudCore
import Kafka
import Redis
import Testing
import LocalStackSupport

/// One streamed run for the crash and scale-out tests: a file of simulated payments (with
/// redeliveries), its oracle from `waqiti replay`, the test's own topics, and a Redis database
/// of its own (flushed) for the engines' windows, so nothing of an earlier run leaks in.
struct StreamRunFixture {
    let folder: URL
    let eventsFile: URL
    let rulesFile: URL
    let topics: EngineTopics
    let partitions: Int32
    let oracle: DecisionOracle
    let redisURL: String

    /// `EngineTopics.create` makes the decisions topic with one partition.
    static let decisionPartitions: Int32 = 1

    /// - Parameters:
    ///   - events: distinct payments; 2% more are redeliveries of earlier ones (`--duplicates 0.02`).
    ///   - redisDatabase: a database number no other test uses.
    init(name: String, events: Int, partitions: Int32, redisDatabase: Int) async throws {
        folder = try ProcessEnvironment.temporaryDirectory(name)
        eventsFile = folder.appendingPathComponent("events.jsonl")
        rulesFile = folder.appendingPathComponent("oracle.rules")
        try DecisionOracle.rules.write(to: rulesFile, atomically: true, encoding: .utf8)
        self.partitions = partitions

        // 5 events/s of event time: hot accounts see several payments per window.
        let simulate = try await WaqitiProcess.run(["simulate", "--events", String(events), "--seed", "61", "--rate", "5",
                                                    "--duplicates", "0.02", "--out", eventsFile.path])
        #expect(simulate.status == 0, "simulate: \(simulate.stderr.suffix(1000))")
        let lines = try String(contentsOf: eventsFile, encoding: .utf8).split(separator: "\n").count

        let oracleFile = folder.appendingPathComponent("oracle.jsonl")
        let replay = try await WaqitiProcess.run(["replay", "--input", eventsFile.path, "--rules", rulesFile.path,
                                                  "--decisions-out", oracleFile.path, "--quiet"])
        #expect(replay.status == 0, "replay: \(replay.stderr.suffix(1000))")
        oracle = try DecisionOracle(decisionsFile: oracleFile.path, lines: lines)

        topics = try EngineTopics.create(name, partitions: partitions)
        let base = try LocalStack.required("WAQITI_REDIS_URL")
        redisURL = Self.redisURL(base, database: redisDatabase)
        let redis = try RedisConnection(configuration: RedisConfiguration(url: redisURL))
        _ = try redis.send(RedisCommand("FLUSHDB"))
        redis.disconnect()
    }

    /// The engine's variables: this run's topics and group, the Redis store for every feature, the
    /// oracle's rules and no model.
    var engineEnvironment: [String: String] {
        ["WAQITI_RULES_FILE": rulesFile.path, "WAQITI_MODEL_FILE": "none",
         "WAQITI_FEATURES_STORE": "redis", "WAQITI_REDIS_URL": redisURL]
    }

    /// `waqiti produce` of the events file at `rate` per second, in the background.
    func startProducer(rate: Int, name: String) throws -> WaqitiProcess {
        try WaqitiProcess(["produce", "--input", eventsFile.path, "--topic", topics.payments, "--rate", String(rate), "--batch", "50"],
                          environment: topics.environment, name: name)
    }

    /// Decisions published so far on the run's decisions topic (high watermarks summed).
    func publishedCount() throws -> Int64 {
        let consumer = try KafkaConsumer(configuration: KafkaConsumerConfiguration(client: topics.client, groupID: nil))
        defer { consumer.close() }
        var total: Int64 = 0
        for partition in 0..<Self.decisionPartitions { total += try consumer.watermarks(topic: topics.decisions, partition: partition).high }
        return total
    }

    /// Waits until the decisions topic holds more than `count` messages: the engine is deciding.
    func waitForDecisions(beyond count: Int64, timeout: Duration) async throws {
        let deadline = ContinuousClock.now + timeout
        while try publishedCount() <= count {
            guard ContinuousClock.now < deadline else { throw ProcessTestError.timeout("no decision beyond \(count) within \(timeout)") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Reads every decision and compares with the oracle.
    func compareWithOracle(timeout: Duration) throws -> DecisionOracle.Comparison {
        let published = try PublishedDecisions.read(
            topic: topics.decisions, partitions: Self.decisionPartitions, brokers: topics.brokers,
            expected: Set(oracle.decisions.keys), deadline: .now + timeout)
        return try oracle.compare(published)
    }

    static func redisURL(_ base: String, database: Int) -> String {
        guard let scheme = base.range(of: "://") else { return "\(base)/\(database)" }
        let authority = base[scheme.upperBound...].prefix { $0 != "/" }
        return "\(base[..<scheme.upperBound])\(authority)/\(database)"
    }
}

