import Engine
import Foundation
import FraudCore
import Logging
import Testing
import LocalStackSupport

/// `redis.connect_timeout` and `redis.command_timeout` reach the engine's Redis clients: a Redis
/// that stops answering costs a batch at most the configured time, and the batch is decided on
/// local windows with the reason naming that time. No services: the "Redis" is a loopback port
/// that never answers.
@Suite("Redis timeouts from the configuration", .temporaryFolder)
struct RedisTimeoutTests {
    private func runtime(redisPort: Int, configure: (inout EngineConfiguration) -> Void) throws -> EngineRuntime {
        let rulesFile = TemporaryFolder.current.path("redis-timeout.rules")
        try """
        version "redis-timeout-1"
        rule burst: decline +50 if count(account_id, 10m) >= 4
        """.write(toFile: rulesFile, atomically: true, encoding: .utf8)
        var configuration = EngineConfiguration()
        configuration.rulesFile = rulesFile
        configuration.modelFile = nil
        configuration.features.redisURL = "redis://127.0.0.1:\(redisPort)"
        configure(&configuration)
        return try EngineRuntime(configuration: configuration, withKafka: false, logger: Logger(label: "redis-timeout-tests"))
    }

    @Test("a Redis that accepts but never replies: the batch waits redis.command_timeout, then is decided degraded")
    func commandTimeout() async throws {
        let redis = try UnresponsiveRedis(.silent)
        let runtime = try runtime(redisPort: redis.port) { $0.features.redisCommandTimeout = EventDuration(milliseconds: 150) }
        let start = ContinuousClock.now
        let decisions = try await runtime.engine.decide([payment("timeout-1", account: "acct-t")])
        let waited = ContinuousClock.now - start
        #expect(decisions.map(\.featuresDegraded) == [true])
        // The first reply a connection waits for is its handshake's (INFO server, for the run id).
        #expect(runtime.engine.featureRouter.sharedState == .degraded(reason:
            "feature store unavailable: cannot connect to Redis at 127.0.0.1:\(redis.port): during the handshake (INFO): Redis at 127.0.0.1:\(redis.port) did not reply within 0.15 seconds; the connection was dropped and the next command reconnects; check that redis-server runs there (deploy/local/start.sh redis)"))
        // The decision cache's look-up and the window script each wait one timeout.
        #expect(waited >= .milliseconds(300))
    }

    @Test("a Redis whose host drops connection attempts: each connect gives up after redis.connect_timeout")
    func connectTimeout() async throws {
        let redis = try UnresponsiveRedis(.unreachable)
        let runtime = try runtime(redisPort: redis.port) { $0.features.redisConnectTimeout = EventDuration(milliseconds: 200) }
        let start = ContinuousClock.now
        let decisions = try await runtime.engine.decide([payment("timeout-2", account: "acct-t")])
        let waited = ContinuousClock.now - start
        #expect(decisions.map(\.featuresDegraded) == [true])
        #expect(runtime.engine.featureRouter.sharedState == .degraded(reason:
            "feature store unavailable: cannot connect to Redis at 127.0.0.1:\(redis.port): Connection timed out; check that redis-server runs there (deploy/local/start.sh redis)"))
        #expect(waited >= .milliseconds(400))
    }

    @Test("batches waiting on connects that time out hold no thread of their caller: its other tasks keep running, and every batch is decided degraded")
    func connectTimeoutsHoldNoCallerThread() async throws {
        let redis = try UnresponsiveRedis(.unreachable)
        let runtime = try runtime(redisPort: redis.port) { $0.features.redisConnectTimeout = EventDuration(milliseconds: 1500) }
        let batches = 3
        // One thread for the batches and the heartbeat: a pool that other tests cannot disturb.
        let executor = SingleThreadTaskExecutor(name: "outage-engine")
        defer { executor.stop() }
        let heartbeat = Heartbeat(on: executor)
        let degraded = try await withTaskExecutorPreference(executor) {
            try await withThrowingTaskGroup(of: [Bool].self) { group in
                for i in 0..<batches {
                    group.addTask { try await runtime.engine.decide([payment("outage-\(i)", account: "acct-\(i)")]).map(\.featuresDegraded) }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
        }
        let worstGap = await heartbeat.stop()
        #expect(degraded == Array(repeating: true, count: batches))
        // The decision cache's look-up and the window script wait for their connects on threads of
        // their own; on the caller's thread they would stall it for 1.5 s at a time (the margin
        // below that is for a loaded machine).
        #expect(worstGap < .seconds(1), "the heartbeat waited \(worstGap) for its thread")
    }
}
