import FraudCore
import Redis
import Testing
@testable import Features
import LocalStackSupport

/// The Redis store as many engine instances use it: each `RedisFeatureStore` is one instance with its
/// own mirror, all appending to the same per-entity logs.
@Suite("Redis store: per-entity logs shared by several instances", .enabled(if: LocalStack.isEnabled, LocalStack.skipMessage))
struct RedisLogTests {
    static let countPlan = FeaturePlan([try! FeatureSpec(parsing: "count(card_fingerprint, 1h)")])

    /// `count` instances sharing one fresh key prefix, and the configuration to inspect Redis with.
    static func instances(_ count: Int, _ stem: String, lateness: EventDuration = .minutes(5)) throws -> ([RedisFeatureStore], RedisConfiguration, String) {
        let configuration = try RedisTestEnvironment.configuration()
        let prefix = RedisTestEnvironment.uniquePrefix(stem)
        return ((0..<count).map { _ in RedisFeatureStore(configuration: configuration, lateness: lateness, keyPrefix: prefix) }, configuration, prefix)
    }

    @Test("Two instances interleaving batches on the same entities, and a third joining cold mid-stream, all match the oracle")
    func instancesInterleave() async throws {
        let (stores, _, _) = try Self.instances(3, "instances")
        let events = StreamGenerator(eventCount: 60_000, seed: 11).events()
        var out: [Double] = []
        var sent = 0, batches = [0, 0, 0]
        let (mismatches, report) = try await compareWithOracle(events, plan: everyAggregatePlan, seed: 5, readOnlyRate: 0.05) { batch, mode in
            // A and B alternate; from the middle of the stream on, C takes every third batch.
            let joined = sent >= events.count / 2
            let store = joined ? batches.reduce(0, +) % 3 : batches.reduce(0, +) % 2
            sent += batch.count
            batches[store] += 1
            let report = try stores[store].processSync(batch, plan: everyAggregatePlan, mode: mode, into: &out)
            return (out, report)
        }
        #expect(mismatches == 0)
        #expect(batches.allSatisfy { $0 > 100 })
        #expect(report.duplicates > 250)
        #expect(report.tooLate > 250)
    }

    @Test("A lost log (expiry, FLUSHALL) restarts that entity for every instance; other entities carry on")
    func epochReset() async throws {
        let (stores, configuration, prefix) = try Self.instances(2, "epoch")
        let (a, b) = (stores[0], stores[1])
        var out: [Double] = []
        func count(_ store: RedisFeatureStore, _ id: String, at seconds: Int64, card: String) throws -> [Double] {
            _ = try store.processSync([payment(id, at: seconds, card: card)], plan: Self.countPlan, mode: .update, into: &out)
            return out
        }
        #expect(try count(a, "p1", at: 0, card: "c1") == [1])
        #expect(try count(a, "p2", at: 1, card: "c2") == [1])
        // B has never read c1's log: it rebuilds it, then adds p3.
        #expect(try count(b, "p3", at: 2, card: "c1") == [2])

        let connection = try RedisConnection(configuration: configuration)
        let c1 = try #require(try connection.send(RedisCommand("KEYS", "\(prefix){card_fingerprint:c1}:*")).array?.first?.string)
        #expect(try connection.send(RedisCommand("DEL", c1)).integer == 1)

        // A's cursor names the old epoch: c1 starts afresh; c2 keeps its window.
        #expect(try count(a, "p4", at: 3, card: "c1") == [1])
        #expect(try count(a, "p5", at: 4, card: "c2") == [2])
        // B drops its c1 windows (p1, p3) and replays the new log (p4).
        #expect(try count(b, "p6", at: 5, card: "c1") == [2])
        #expect(try count(b, "p7", at: 6, card: "c2") == [3])
        #expect(try count(a, "p8", at: 7, card: "c1") == [3])
    }

    @Test("Expired head entries are trimmed: the log keeps exactly the entries after mark − retention, and a cold instance still reads it right")
    func trimming() async throws {
        // Retention = 1m window + 1m lateness = 120 s; the mark moves (and the head is trimmed) every 15 s of event time.
        let (stores, configuration, prefix) = try Self.instances(2, "trim", lateness: .minutes(1))
        let (store, cold) = (stores[0], stores[1])
        let plan = FeaturePlan([try FeatureSpec(parsing: "count(card_fingerprint, 1m)")])
        var out: [Double] = []
        for step in 0...30 {
            _ = try store.processSync([payment("p\(step)", at: Int64(step) * 10, card: "c1")], plan: plan, mode: .update, into: &out)
            #expect(out == [Double(min(step + 1, 6))], "t = \(step * 10) s")
        }
        let connection = try RedisConnection(configuration: configuration)
        let key = try #require(try connection.send(RedisCommand("KEYS", "\(prefix){card_fingerprint:c1}:*")).array?.first?.string)
        // The mark moved at t = 20, 40, …, 300 s, each time trimming up to the previous mark − 120 s:
        // at t = 300 s everything at or before 160 s (17 entries) is gone; 170 … 300 s remain (14).
        #expect(try connection.send(RedisCommand("LLEN", key)).integer == 15)
        // The header: epoch, base, mark, deadline as four big-endian doubles.
        guard case .bulk(let bytes) = try connection.send(RedisCommand("LINDEX", key, "0")) else {
            Issue.record("no header")
            return
        }
        let header = RedisLogCommandTests.unpacked(bytes)
        #expect(header.count == 4)
        #expect(header.dropFirst().first == 17)
        #expect(header.dropFirst(2).first == StreamGenerator.start + 300_000)
        let oldest = try #require(try connection.send(RedisCommand("LINDEX", key, "1")).string)
        #expect(oldest.hasPrefix("\(StreamGenerator.start + 170_000)\u{1F}p17"))

        _ = try cold.processSync([payment("p31", at: 305, card: "c1")], plan: plan, mode: .update, into: &out)
        #expect(out == [7])
        #expect(try connection.send(RedisCommand("PTTL", key)).integer.map { $0 > 165_000 && $0 <= 180_000 } == true)
    }

    @Test("Read-only batches append nothing, and read what an update would")
    func readOnlyAppendsNothing() async throws {
        let (stores, configuration, prefix) = try Self.instances(2, "read-only")
        let (writer, reader) = (stores[0], stores[1])
        var out: [Double] = []
        _ = try writer.processSync([payment("p1", at: 0), payment("p2", at: 1)], plan: Self.countPlan, mode: .update, into: &out)
        _ = try reader.processSync([payment("p3", at: 2), payment("p1", at: 0)], plan: Self.countPlan, mode: .readOnly, into: &out)
        // p1 again is a duplicate and reads its own window (−1h, 0 s]: itself only.
        #expect(out == [3, 1])
        // A read-only batch on an entity without a log creates nothing.
        _ = try reader.processSync([payment("p4", at: 3, card: "c9")], plan: Self.countPlan, mode: .readOnly, into: &out)
        #expect(out == [1])
        let connection = try RedisConnection(configuration: configuration)
        let keys = try connection.send(RedisCommand("KEYS", "\(prefix){*")).array?.compactMap(\.string) ?? []
        #expect(keys.count == 1)
        #expect(try connection.send(RedisCommand("LLEN", keys.first ?? "")).integer == 3)
    }
}
