import Foundation
import Kafka
import Testing
import LocalStackSupport

/// SIGTERM when the broker went away: `waqiti serve` must still exit, within shutdown.timeout,
/// say what stays uncommitted, and exit non-zero. The broker is a private one that the test kills
/// (never the shared stack's); the feature store is a port that never answers, which holds the
/// polled payments in the decide stage long enough for the broker to be killed before their
/// decisions are published, so a batch is certainly in flight when SIGTERM comes.
@Suite("waqiti serve shutdown with the broker gone", .enabled(if: LocalStack.isEnabled, LocalStack.skipMessage), .temporaryFolder)
struct ServeShutdownTests {
    private struct Engine {
        let process: WaqitiProcess
        let broker: PrivateBroker
        let redis: SilentRedis
    }

    /// Five payments on a private broker's `payments`, then `waqiti serve` on them; returns once
    /// their batch reached the (silent) feature store, so they are polled and not yet published.
    private func start(_ name: String, shutdownTimeout: String) async throws -> Engine {
        let broker = try PrivateBroker()
        let client = KafkaClientConfiguration(brokers: broker.brokers, clientID: "waqiti-process-tests")
        let admin = try KafkaAdmin(configuration: client)
        for topic in ["payments", "decisions", "dlq"] { _ = try admin.createTopic(topic, partitions: 1) }
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: client))
        _ = try await producer.send((0..<5).map { index in
            KafkaProducerMessage(topic: "payments", key: Array("acct-1".utf8), value: Array("""
            {"payment_id":"\(name)-\(index)","occurred_at":"2026-11-29T08:15:3\(index)Z","account_id":"acct-1","card_fingerprint":"card-1","device_id":"dev-1","ip":"203.0.113.7","merchant_id":"m-1","mcc":"5411","amount_minor":7500,"currency":"USD","card_country":"US","ip_country":"US","channel":"ecom","type":"payment"}
            """.utf8))
        })
        try producer.close()

        let redis = try SilentRedis()
        let process = try WaqitiProcess(["serve"], environment: [
            "WAQITI_KAFKA_BROKERS": broker.brokers, "WAQITI_KAFKA_PAYMENTS_TOPIC": "payments",
            "WAQITI_KAFKA_DECISIONS_TOPIC": "decisions", "WAQITI_KAFKA_DLQ_TOPIC": "dlq", "WAQITI_KAFKA_GROUP_ID": "\(name)-group",
            "WAQITI_HTTP_PORT": String(try ProcessEnvironment.freePort()), "WAQITI_API_KEYS": "ptest-key-\(UInt64.random(in: 0...UInt64.max))",
            "WAQITI_MODEL_FILE": "none", "WAQITI_FEATURES_STORE": "redis", "WAQITI_REDIS_URL": "redis://127.0.0.1:\(redis.port)",
            "WAQITI_REDIS_CONNECT_TIMEOUT": "1s", "WAQITI_REDIS_COMMAND_TIMEOUT": "1s", "WAQITI_SHUTDOWN_TIMEOUT": shutdownTimeout,
        ], name: name)
        let deadline = ContinuousClock.now + .seconds(90)
        // A batch's first feature-store call: the connection's handshake (nothing else asks
        // Redis: no health check runs here).
        while !redis.text.contains("INFO") {
            guard process.isRunning else { throw ProcessTestError.exited(name: name, status: -1, stderrTail: process.stderrTail()) }
            guard ContinuousClock.now < deadline else { throw ProcessTestError.timeout("\(name) to poll its payments; the feature store got \(redis.text.debugDescription); stdout: \(process.standardOutput()); stderr ends:\n\(process.stderrTail())") }
            try await Task.sleep(for: .milliseconds(50))
        }
        return Engine(process: process, broker: broker, redis: redis)
    }

    /// Waits for the engine to exit after its last signal (sent at `signalled`): its status, how
    /// long after the signal it exited, and its log's tail for failure messages.
    private func exit(of engine: Engine, signalled: ContinuousClock.Instant) async throws -> (status: Int32, took: Duration, context: String) {
        let status = try await engine.process.waitForExit(timeout: .seconds(40))
        return (status, ContinuousClock.now - signalled, "stderr ends:\n\(engine.process.stderrTail())")
    }

    /// The engine logged its five payments' offsets, exactly, as not committed.
    private func expectFiveUncommitted(_ engine: Engine, _ context: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let lines = engine.process.standardError().split(separator: "\n").filter { $0.contains("stopped before committing") }
        #expect(lines.count == 1 && lines.allSatisfy { $0.contains("partition=payments[0]") && $0.contains("offsets=0-4") }, "\(context)", sourceLocation: sourceLocation)
    }

    @Test("SIGTERM with a batch in flight and the broker killed: exit 1 within shutdown.timeout, the uncommitted offsets logged", .timeLimit(.minutes(3)))
    func boundedShutdown() async throws {
        // 8 s: the decide stage is done with the silent feature store after about 3 s, so the
        // batch's decisions are with the producer, unacknowledged, when the deadline comes.
        let engine = try await start("shutdown-bounded", shutdownTimeout: "8s")
        engine.broker.kill()
        let signalled = ContinuousClock.now
        engine.process.terminate()
        let (status, took, context) = try await exit(of: engine, signalled: signalled)
        #expect(status == 1, "\(context)")
        // The deadline, then at most 5 s to close the Kafka clients (a flush that cannot succeed).
        #expect(took >= .seconds(8) && took < .seconds(20), "exited \(took) after SIGTERM with shutdown.timeout 8s; \(context)")
        let stdout = engine.process.standardOutput()
        #expect(stdout.contains("waqiti serve: SIGTERM: draining (up to 8s, shutdown.timeout)"), "\(stdout)")
        #expect(stdout.contains("waqiti serve: stopped without draining (the graceful shutdown did not finish within shutdown.timeout (8s))"), "\(stdout)")
        expectFiveUncommitted(engine, context)
    }

    @Test("a second SIGTERM stops at once, long before shutdown.timeout", .timeLimit(.minutes(3)))
    func secondSignal() async throws {
        let engine = try await start("shutdown-second", shutdownTimeout: "10m")
        engine.broker.kill()
        engine.process.terminate()
        try await engine.process.waitForOutput(containing: "waqiti serve: SIGTERM: draining (up to 600s, shutdown.timeout)", timeout: .seconds(10))
        let signalled = ContinuousClock.now
        engine.process.terminate()
        let (status, took, context) = try await exit(of: engine, signalled: signalled)
        #expect(status == 1, "\(context)")
        #expect(took < .seconds(20), "exited \(took) after the second SIGTERM; \(context)")
        #expect(engine.process.standardOutput().contains("waqiti serve: SIGTERM again: stopping at once"))
        expectFiveUncommitted(engine, context)
    }
}
