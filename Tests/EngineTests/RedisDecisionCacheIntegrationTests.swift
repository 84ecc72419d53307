import Engine
import FraudCore
import Logging
import Redis
import Testing
import LocalStackSupport

@Suite("RedisDecisionCache against the real Redis", .enabled(if: LocalStack.isEnabled, LocalStack.skipMessage))
struct RedisDecisionCacheIntegrationTests {
    private static func cache(_ configuration: RedisConfiguration, horizon: Duration = .seconds(3600)) -> RedisDecisionCache {
        RedisDecisionCache(
            store: RedisDecisionStore(configuration: configuration), local: InMemoryDecisionCache(capacity: 100),
            horizon: horizon, probeInterval: .zero, logger: Logger(label: "test")
        )
    }

    @Test("a restarted instance finds the decision byte-identical, the key expires with the horizon, and the first decision stands")
    func roundTrip() async throws {
        let configuration = try RedisConfiguration(url: try LocalStack.required("WAQITI_REDIS_URL"))
        let run = LocalStack.runID()
        let ids = (0..<3).map { "it-cache-\(run)-\($0)" }
        let first = Self.cache(configuration, horizon: .seconds(3600))
        let decisions = ids.map { cachedDecision($0, .review, score: 0.1 + 0.2) }
        let stored = ContinuousClock.now
        #expect(await first.remember(decisions) == decisions)

        let restarted = Self.cache(configuration)
        let encoder = DecisionEncoder()
        let found = await restarted.decisions(for: ids + ["it-cache-\(run)-absent"])
        #expect(found.map { $0.map(encoder.encode) } == decisions.map(encoder.encode) + [nil])

        let connection = try RedisConnection(configuration: configuration)
        defer { connection.disconnect() }
        let ttl = try connection.send(RedisCommand("PTTL", RedisDecisionCache.keyPrefix + ids[0])).integer ?? -1
        // The horizon less the time since the SET, at most: under a loaded test run that time has
        // exceeded 10 s, so the bound is measured rather than fixed.
        let elapsed = (ContinuousClock.now - stored).components
        let elapsedMilliseconds = elapsed.seconds * 1000 + elapsed.attoseconds / 1_000_000_000_000_000 + 1
        #expect(ttl >= 3_600_000 - elapsedMilliseconds && ttl <= 3_600_000, "PTTL \(ttl) ms, \(elapsedMilliseconds) ms after the SET")

        // Another instance decides the same payment differently (a rebalance race): the stored
        // decision stands, and both instances publish it.
        let competing = cachedDecision(ids[1], .approve)
        #expect(await restarted.remember([competing]) == [decisions[1]])
        for id in ids { try connection.send(RedisCommand("DEL", RedisDecisionCache.keyPrefix + id)) }
    }

    @Test("with nothing listening on the Redis port, the cache answers from the instance's own decisions")
    func unreachable() async throws {
        let configuration = RedisConfiguration(host: "127.0.0.1", port: 1, connectTimeout: .milliseconds(200))
        let cache = Self.cache(configuration)
        #expect(await cache.remember([cachedDecision("it-down-1")]) == [cachedDecision("it-down-1")])
        #expect(await cache.decisions(for: ["it-down-1", "it-down-2"]) == [cachedDecision("it-down-1"), nil])
        #expect(cache.unavailableReason?.hasPrefix("cannot connect to Redis at 127.0.0.1:1:") == true)
    }
}
