import Foundation
import FraudCore
import Redis
import Testing
@testable import Features
import LocalStackSupport

/// The real redis-server of the local stack (gated by `LocalStack`; a server that is down is a
/// failure).
enum RedisTestEnvironment {
    static func configuration(sourceLocation: SourceLocation = #_sourceLocation) throws -> RedisConfiguration {
        try RedisConfiguration(url: LocalStack.required("WAQITI_REDIS_URL", sourceLocation: sourceLocation))
    }

    /// A key prefix no other test or run shares.
    static func uniquePrefix(_ stem: String) -> String {
        "waqiti-test:\(stem):\(UInt64.random(in: 0...UInt64.max) & 0xFFFF_FFFF):"
    }
}

@Suite("Redis store against the oracle", .enabled(if: LocalStack.isEnabled, LocalStack.skipMessage))
struct RedisStoreTests {
    @Test("100,000 events with disorder, 1% redeliveries and read-only batches: every aggregate matches the oracle")
    func hundredThousand() async throws {
        let store = RedisFeatureStore(configuration: try RedisTestEnvironment.configuration(), keyPrefix: RedisTestEnvironment.uniquePrefix("oracle"))
        let events = StreamGenerator(eventCount: 100_000, seed: 42).events()
        var out: [Double] = []
        let (mismatches, report) = try await compareWithOracle(events, plan: everyAggregatePlan, seed: 7, readOnlyRate: 0.05) { batch, mode in
            let report = try store.processSync(batch, plan: everyAggregatePlan, mode: mode, into: &out)
            return (out, report)
        }
        #expect(mismatches == 0)
        #expect(report.duplicates > 500)
        #expect(report.tooLate > 500)
    }

    @Test("Every window-semantics case gives the exact table values", arguments: windowCases)
    func semantics(_ c: WindowCase) async throws {
        let plan = FeaturePlan(try c.features.map { try FeatureSpec(parsing: $0) })
        let store = RedisFeatureStore(configuration: try RedisTestEnvironment.configuration(), keyPrefix: RedisTestEnvironment.uniquePrefix("case"))
        var out: [Double] = []
        var report = BatchReport()
        var rows: [Double] = []
        for event in c.events {
            let r = try store.processSync([event], plan: plan, mode: .update, into: &out)
            report.duplicates += r.duplicates
            report.tooLate += r.tooLate
            rows += out
        }
        #expect(report == c.report)
        #expect(zip(rows, c.expected.flatMap { $0 }).allSatisfy(sameFeature), "got \(rows)")
    }

    @Test("An entity's log has a TTL of longest window + 2 × lateness and lives in the entity's hash slot")
    func ttlAndHashTags() async throws {
        let configuration = try RedisTestEnvironment.configuration()
        let prefix = RedisTestEnvironment.uniquePrefix("ttl")
        let store = RedisFeatureStore(configuration: configuration, keyPrefix: prefix)
        let plan = FeaturePlan([try FeatureSpec(parsing: "count(card_fingerprint, 10m)"), try FeatureSpec(parsing: "sum(amount_minor, card_fingerprint, 1h)")])
        var out: [Double] = []
        _ = try store.processSync([payment("p1", at: 0, card: "abc")], plan: plan, mode: .update, into: &out)
        let connection = try RedisConnection(configuration: configuration)
        let keys = try connection.send(RedisCommand("KEYS", "\(prefix){*")).array?.compactMap(\.string) ?? []
        // One list per entity: a header, then the entries; nothing else (no kept replies).
        #expect(keys.count == 1)
        #expect(try connection.send(RedisCommand("KEYS", "\(prefix)*")).array?.count == 1)
        let log = try #require(keys.first)
        #expect(log.hasPrefix("\(prefix){card_fingerprint:abc}:"))
        #expect(RedisKeySlot.slot(of: log) == RedisKeySlot.slot(of: "{card_fingerprint:abc}"))
        // 1h + 2 × 5m = 4,200,000 ms.
        let ttl = try connection.send(RedisCommand("PTTL", log)).integer ?? -1
        #expect(ttl > 4_100_000 && ttl <= 4_200_000)
        #expect(try connection.send(RedisCommand("TYPE", log)).string == "list")
        #expect(try connection.send(RedisCommand("LLEN", log)).integer == 2)
        // time, payment id, amount (the sum's field) as minor units and currency.
        #expect(try connection.send(RedisCommand("LINDEX", log, "1")).string == "\(StreamGenerator.start)\u{1F}p1\u{1F}=100 USD")
    }

    @Test("A log's expiry is pushed again once 1/16 of the TTL has passed, not on every call")
    func ttlRefresh() async throws {
        let configuration = try RedisTestEnvironment.configuration()
        let prefix = RedisTestEnvironment.uniquePrefix("ttl-refresh")
        // TTL = 1s + 2 × 1s = 3,000 ms; refreshed once 187 ms have passed.
        let store = RedisFeatureStore(configuration: configuration, lateness: .seconds(1), keyPrefix: prefix)
        let plan = FeaturePlan([try FeatureSpec(parsing: "count(card_fingerprint, 1s)")])
        var out: [Double] = []
        _ = try store.processSync([payment("p1", at: 0, card: "abc")], plan: plan, mode: .update, into: &out)
        let connection = try RedisConnection(configuration: configuration)
        let keys = try connection.send(RedisCommand("KEYS", "\(prefix){*")).array?.compactMap(\.string) ?? []
        let log = try #require(keys.first)
        // Blocking, not `Task.sleep`: with the other suites' synchronous Redis calls on the
        // cooperative threads, a suspended test resumed seconds late and found the key expired.
        usleep(400_000)
        let before = try connection.send(RedisCommand("PTTL", log)).integer ?? -1
        #expect(before > 0 && before <= 2_600, "PTTL \(before) ms")
        _ = try store.processSync([payment("p2", at: 1, card: "abc")], plan: plan, mode: .update, into: &out)
        #expect(out == [1])
        let ttl = try connection.send(RedisCommand("PTTL", log)).integer ?? -1
        #expect(ttl > 2_900 && ttl <= 3_000)
    }
}

/// A redis-server of the test's own, on a spare port, so the test can kill and restart it.
///
/// Spawned with posix_spawn and an empty signal mask (the test runner's threads block signals, and
/// a child inherits that), stopped with SIGKILL like a crash, and reaped with waitpid.
final class DisposableRedis {
    let port: Int
    /// Where `SAVE` writes its snapshot and a restart loads it from; nil: nothing survives a restart.
    let directory: String?
    private var pid: pid_t = 0

    init(directory: String? = nil) {
        port = Int.random(in: 20_000...29_999)
        self.directory = directory
    }

    func start() throws {
        var arguments = ["/usr/bin/redis-server", "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--loglevel", "warning"]
        if let directory { arguments += ["--dir", directory, "--dbfilename", "dump.rdb"] }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t(), all = sigset_t()
        sigemptyset(&empty)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        let status = posix_spawn(&pid, arguments[0], nil, &attributes, &argv, environ)
        guard status == 0 else { throw RedisError.connectionFailed(endpoint: "127.0.0.1:\(port)", reason: "posix_spawn redis-server: \(status)") }
        for _ in 0..<100 {
            if let c = try? RedisConnection(configuration: configuration), (try? c.send(RedisCommand("PING")))?.string == "PONG" { return }
            usleep(50_000)
        }
        throw RedisError.connectionFailed(endpoint: "127.0.0.1:\(port)", reason: "test redis-server did not start")
    }

    func stop() {
        guard pid > 0 else { return }
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        pid = 0
    }

    var configuration: RedisConfiguration {
        RedisConfiguration(host: "127.0.0.1", port: port, connectTimeout: .milliseconds(300), commandTimeout: .milliseconds(500))
    }

    deinit { stop() }
}

@Suite("Redis store outage", .enabled(if: LocalStack.isEnabled, LocalStack.skipMessage))
struct RedisOutageTests {
    @Test("A restart mid-stream: unavailable while down, then windows start empty once Redis is back")
    func restart() async throws {
        let redis = DisposableRedis()
        try redis.start()
        defer { redis.stop() }
        let store = RedisFeatureStore(configuration: redis.configuration)
        let plan = FeaturePlan([try FeatureSpec(parsing: "count(card_fingerprint, 1h)")])
        var out: [Double] = []
        _ = try store.processSync([payment("p1", at: 0), payment("p2", at: 10)], plan: plan, mode: .update, into: &out)
        #expect(out == [1, 2])

        redis.stop()
        #expect {
            _ = try store.processSync([payment("p3", at: 20)], plan: plan, mode: .update, into: &out)
        } throws: { error in
            guard case .unavailable(let why) = error as? FeatureStoreError else { return false }
            return why.contains("127.0.0.1:\(redis.port)")
        }

        // No persistence: the restarted server has no windows and no script; the store reloads the
        // script (NOSCRIPT) and counts from scratch.
        try redis.start()
        _ = try store.processSync([payment("p3", at: 20)], plan: plan, mode: .update, into: &out)
        #expect(out == [1])
        _ = try store.processSync([payment("p4", at: 30)], plan: plan, mode: .update, into: &out)
        #expect(out == [2])
    }
}
