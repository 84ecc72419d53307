import Foundation
import FraudCore
import Redis
import Synchronization
import Testing
@testable import Features
import LocalStackSupport

/// The update protocol's paths, two instances on one real Redis, every batch checked against the
/// oracle fed the batches in the order they reached the log: the `MULTI` fast path, new entities
/// beside known ones, a known entity whose list is gone (`LogScript` in a second round trip), the
/// catch-up read, a trim by another instance between an instance's two round trips, a list that
/// vanishes between them (the third round trip), the upkeep call, the retry after a reply lost on
/// the `MULTI` path or of a batch that never arrived, and scripts flushed beside the block.
@Suite("Redis store: the MULTI append path and its slow paths", .enabled(if: LocalStack.isEnabled, LocalStack.skipMessage))
struct RedisAppendPathTests {
    /// Retention = 1m window + 1m lateness = 120 s: the mark moves (and the head is trimmed) every 15 s of event time.
    static let plan = FeaturePlan([try! FeatureSpec(parsing: "count(card_fingerprint, 1m)"), try! FeatureSpec(parsing: "sum(amount_minor, card_fingerprint, 1m)")])

    /// Two instances on one fresh prefix, an oracle, and a record of each instance's round trips.
    final class Fixture: Sendable {
        let a: RedisFeatureStore
        let b: RedisFeatureStore
        let configuration: RedisConfiguration
        let prefix: String
        let oracle = Mutex(WindowOracle(plan: RedisAppendPathTests.plan, lateness: .minutes(1)))
        let rounds = Mutex<[Int]>([])

        /// `configuration`: a `DisposableRedis`'s, for a test that counts the server's commands.
        init(_ stem: String, configuration: RedisConfiguration? = nil) throws {
            self.configuration = try configuration ?? RedisTestEnvironment.configuration()
            prefix = RedisTestEnvironment.uniquePrefix(stem)
            a = RedisFeatureStore(configuration: self.configuration, lateness: .minutes(1), keyPrefix: prefix)
            b = RedisFeatureStore(configuration: self.configuration, lateness: .minutes(1), keyPrefix: prefix)
        }

        /// Runs `events` through `store`, the oracle the same; returns the store's values after
        /// checking them against the oracle's.
        @discardableResult
        func run(_ store: RedisFeatureStore, _ events: [PaymentEvent], sourceLocation: SourceLocation = #_sourceLocation) throws -> [Double] {
            var out: [Double] = []
            let report = try store.processSync(events, plan: RedisAppendPathTests.plan, mode: .update, into: &out)
            let (expected, expectedReport) = oracle.withLock { $0.process(events, mode: .update) }
            #expect(out.count == expected.count && zip(out, expected).allSatisfy(sameFeature), "store \(out), oracle \(expected)", sourceLocation: sourceLocation)
            #expect(report == expectedReport, sourceLocation: sourceLocation)
            return out
        }

        /// `run` on `store`, recording the round trips of that call (1, 2, 3).
        func roundTrips(_ store: RedisFeatureStore, _ events: [PaymentEvent], sourceLocation: SourceLocation = #_sourceLocation) throws -> [Int] {
            try recordingRounds(store) { try run(store, events, sourceLocation: sourceLocation) }.rounds
        }

        /// `store`'s values for `events`, unchecked (for the cases where Redis changes under the
        /// store, which the oracle never sees), and the call's round trips; `afterRound` runs after
        /// each round trip, before the next one (another instance's work, a deletion).
        func process(
            _ store: RedisFeatureStore, _ events: [PaymentEvent], afterRound: @escaping @Sendable (Int) -> Void = { _ in }
        ) throws -> (values: [Double], rounds: [Int]) {
            try recordingRounds(store, afterRound: afterRound) {
                var out: [Double] = []
                _ = try store.processSync(events, plan: RedisAppendPathTests.plan, mode: .update, into: &out)
                return out
            }
        }

        private func recordingRounds<Result>(
            _ store: RedisFeatureStore, afterRound: @escaping @Sendable (Int) -> Void = { _ in }, _ body: () throws -> Result
        ) throws -> (values: Result, rounds: [Int]) {
            rounds.withLock { $0.removeAll() }
            store.setAfterRoundTrip { [self] round in
                self.rounds.withLock { $0.append(round) }
                afterRound(round)
            }
            defer { store.setAfterRoundTrip(nil) }
            let result = try body()
            return (result, rounds.withLock { $0 })
        }

        func connection() throws -> RedisConnection { try RedisConnection(configuration: configuration) }

        /// The list of `card`'s log.
        func key(_ card: String) throws -> String {
            try #require(try connection().send(RedisCommand("KEYS", "\(prefix){card_fingerprint:\(card)}:*")).array?.first?.string)
        }

        /// The header of `card`'s log: epoch, base, mark, deadline.
        func header(_ card: String) throws -> [Int64] {
            guard case .bulk(let bytes) = try connection().send(RedisCommand("LINDEX", try key(card), "0")) else { return [] }
            return RedisLogCommandTests.unpacked(bytes)
        }

        func length(_ card: String) throws -> Int64? { try connection().send(RedisCommand("LLEN", try key(card))).integer }
    }

    @Test("Entities new to the instance go to LogScript beside the MULTI block, in the same round trip; a known entity whose list is gone takes LogScript in a second one")
    func newAndMissingEntities() throws {
        let f = try Fixture("new-entity")
        #expect(try f.roundTrips(f.a, [payment("p1", at: 0, card: "c1", amount: 1), payment("p2", at: 1, card: "c2", amount: 2)]) == [1])
        #expect(try f.roundTrips(f.a, [payment("p3", at: 2, card: "c1", amount: 4), payment("p4", at: 3, card: "c2", amount: 8)]) == [1])
        let rounds = try f.roundTrips(f.a, [payment("p5", at: 4, card: "c1", amount: 16), payment("p6", at: 5, card: "c3", amount: 32), payment("p7", at: 6, card: "c2", amount: 64)])
        #expect(rounds == [1])
        // Every list once, every event once.
        #expect(try f.length("c1") == 4)
        #expect(try f.length("c2") == 4)
        #expect(try f.length("c3") == 2)
        // B, cold, rebuilds both from the logs.
        #expect(try f.run(f.b, [payment("p8", at: 7, card: "c3", amount: 128), payment("p9", at: 8, card: "c1", amount: 256)]) == [2, 160, 4, 277])

        // c2's list expires (here: DEL) while A holds a cursor for it: its RPUSHX appends nothing
        // (L = 0) and LogScript recreates it in a second round trip; c5, new, rides the first.
        // The oracle never saw the expiry: c2 restarts empty ([1, 512]), c5 is new ([1, 1024]).
        #expect(try f.connection().send(RedisCommand("DEL", try f.key("c2"))).integer == 1)
        let (out, roundsAfterDelete) = try f.process(f.a, [payment("p10", at: 9, card: "c2", amount: 512), payment("p11", at: 10, card: "c5", amount: 1024)])
        #expect(roundsAfterDelete == [1, 2])
        #expect(out == [1, 512, 1, 1024])
        #expect(try f.length("c2") == 2)
        #expect(try f.length("c5") == 2)
        #expect(try f.connection().send(RedisCommand("PTTL", try f.key("c2"))).integer.map { $0 > 170_000 && $0 <= 180_000 } == true)
    }

    @Test("What another instance appended comes back through the catch-up read, in log order, the instance's own entries not")
    func catchUpRead() throws {
        let f = try Fixture("catch-up")
        try f.run(f.a, [payment("p1", at: 0, amount: 1)])
        // B is cold: LogScript appends and returns A's entry in the first round trip.
        #expect(try f.roundTrips(f.b, [payment("p2", at: 10, amount: 2), payment("p3", at: 5, amount: 4)]) == [1])
        #expect(try f.roundTrips(f.a, [payment("p4", at: 20, amount: 8)]) == [1, 2])
        #expect(try f.roundTrips(f.a, [payment("p5", at: 30, amount: 16)]) == [1])
        #expect(try f.run(f.b, [payment("p6", at: 40, amount: 32)]) == [6, 63])
        #expect(try f.length("c1") == 7)
    }

    @Test("A trim by another instance between the MULTI and the catch-up read: the read starts at the new base, and skips only expired entries")
    func trimBetweenRoundTrips() throws {
        let f = try Fixture("trim-between")
        // B creates the log with 0, 10, …, 280 s (mark 280); A joins cold at 285 (its cursor: end 30).
        try f.run(f.b, (0...28).map { payment("b\($0)", at: Int64($0) * 10) })
        try f.run(f.a, [payment("a1", at: 285)])
        // B: 300 (its upkeep trims ≤ 280 − 120 = 160 s, 17 entries; mark 300), then 440 (trims ≤ 180 s,
        // 2 more; mark 440).
        try f.run(f.b, [payment("b29", at: 300)])
        try f.run(f.b, [payment("b30", at: 440)])
        #expect(try f.header("c1").dropFirst().prefix(2) == [19, StreamGenerator.start + 440_000])
        // A appends 420 at absolute index 32 and must read [30, 32) = 300, 440. Between its two round
        // trips B appends 460 (index 33), whose upkeep trims ≤ 440 − 120 = 320 s: the head up to 300
        // (index 30). A's own upkeep, due by its cached mark (280), finds the mark at 440 and does nothing.
        let late = Mutex<[Double]>([])
        let (out, rounds) = try f.process(f.a, [payment("a2", at: 420)]) { [f] round in
            guard round == 1 else { return }
            // Directly, not through `process`: that would record B's round trips among A's.
            do {
                var values: [Double] = []
                _ = try f.b.processSync([payment("b31", at: 460)], plan: Self.plan, mode: .update, into: &values)
                late.withLock { $0 = values }
            } catch { Issue.record("B: \(error)") }
        }
        #expect(try f.header("c1").dropFirst().prefix(2) == [31, StreamGenerator.start + 460_000])
        // A's read started at the new base (31) and was answered: no third round trip (a log gone
        // since the append), nothing appended twice (index 31 on: 440, 420, 460).
        #expect(rounds == [1, 2])
        #expect(try f.length("c1") == 4)
        // In log order: a2, then b31. 300 is expired for A once it has applied 440: a2's window
        // (360, 420] holds a2 alone; b31's (400, 460] holds 420, 440, 460.
        let (expected, _) = f.oracle.withLock { $0.process([payment("a2", at: 420)], mode: .update) }
        #expect(out == expected)
        #expect(out == [1, 100])
        let (expectedB, _) = f.oracle.withLock { $0.process([payment("b31", at: 460)], mode: .update) }
        #expect(late.withLock { $0 } == expectedB)
        #expect(expectedB == [3, 300])
        // From there on A and B agree with the oracle.
        try f.run(f.a, [payment("a3", at: 470)])
        try f.run(f.b, [payment("b32", at: 475)])
        // From index 31 on: 440, 420 (A), 460, 470, 475.
        #expect(try f.length("c1") == 6)
    }

    @Test("Upkeep re-checks the header: another epoch is skipped, a mark already moved trims nothing, a due one trims and moves it")
    func upkeepRechecks() throws {
        let redis = DisposableRedis()
        try redis.start()
        defer { redis.stop() }
        let f = try Fixture("upkeep", configuration: redis.configuration)
        try f.run(f.a, (0...20).map { payment("p\($0)", at: Int64($0) * 10) })
        let key = try f.key("c1")
        let header = try f.header("c1")
        #expect(header.dropFirst().prefix(2) == [0, StreamGenerator.start + 200_000])
        let connection = try f.connection()
        func upkeep(epoch: Int64, newest seconds: Int64) throws -> RedisReply {
            let arguments = ["120000", "180000"].map { Array($0.utf8) } + [RedisLogCommandTests.packed([epoch, StreamGenerator.start + seconds * 1000])]
            return try connection.evalSHA(LogScript.maintenance, keys: [Array(key.utf8)], arguments: arguments)
        }
        #expect(try upkeep(epoch: header[0] + 1, newest: 400) == .array([.null]))
        #expect(try f.header("c1") == header)
        #expect(try upkeep(epoch: header[0], newest: 214) == .array([.array([.integer(header[2]), .integer(header[3])])]))
        #expect(try f.header("c1") == header)
        #expect(try f.length("c1") == 22)
        // Due: trims ≤ 200 − 120 = 80 s (9 entries) and moves the mark to 215.
        let moved = try upkeep(epoch: header[0], newest: 215)
        #expect(moved.array?.first?.array?.first == .integer(StreamGenerator.start + 215_000))
        #expect(try f.header("c1").dropFirst().prefix(2) == [9, StreamGenerator.start + 215_000])
        #expect(try f.length("c1") == 13)
        // A's cached mark (200) is stale now: its next append predicts upkeep (one EVALSHA of
        // `LogScript.maintenance` beside the MULTI block), which finds nothing due.
        let scriptsBefore = try connection.calls("evalsha"), blocksBefore = try connection.calls("exec")
        #expect(try f.roundTrips(f.a, [payment("p21", at: 216)]) == [1])
        #expect(try connection.calls("evalsha") - scriptsBefore == 1)
        #expect(try connection.calls("exec") - blocksBefore == 1)
        #expect(try f.length("c1") == 14)
        #expect(try f.header("c1").dropFirst().prefix(2) == [9, StreamGenerator.start + 215_000])
        // With the mark it cached from that reply (215), the next append predicts none.
        let scriptsAfter = try connection.calls("evalsha")
        #expect(try f.roundTrips(f.a, [payment("p22", at: 217)]) == [1])
        #expect(try connection.calls("evalsha") == scriptsAfter)
    }

    @Test("A list that vanishes between the MULTI block and the catch-up read takes a third round trip, which appends the batch anew")
    func listVanishesBetweenRoundTrips() throws {
        let f = try Fixture("vanish")
        try f.run(f.a, [payment("p1", at: 0, amount: 1)])
        try f.run(f.b, [payment("p2", at: 10, amount: 2)])
        // A knows c1 and B appended since: the block appends p3 and round trip 2 would read p2. The
        // list is deleted in between (here: DEL; in production an expiry or a restart), so the read
        // answers nil and round trip 3 recreates the list under a new epoch with p3 alone.
        let key = try f.key("c1")
        let (out, rounds) = try f.process(f.a, [payment("p3", at: 20, amount: 4)]) { [f] round in
            if round == 1 { _ = try? f.connection().send(RedisCommand("DEL", key)) }
        }
        #expect(rounds == [1, 2, 3])
        // The new log holds p3 alone, and A's windows restarted with it (the oracle, which never saw
        // the deletion, would say [3, 7]).
        #expect(out == [1, 4])
        #expect(try f.length("c1") == 2)
        // B sees the new epoch, drops its windows for c1 and replays the new log: p3, then its p4.
        #expect(try f.process(f.b, [payment("p4", at: 30, amount: 8)]).values == [2, 12])
        #expect(try f.length("c1") == 3)
    }

    @Test("A restart that loses the log's tail under the same epoch: the instance whose cursor points past it rebuilds from the log, and agrees with the other")
    func restartThatLosesTheTail() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("waqiti-redis-\(UInt64.random(in: 0...UInt64.max))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let redis = DisposableRedis(directory: directory)
        try redis.start()
        defer { redis.stop() }
        let f = try Fixture("lost-tail", configuration: redis.configuration)
        _ = try f.process(f.a, [payment("p1", at: 0, amount: 1), payment("p2", at: 1, amount: 2)])
        _ = try f.connection().send(RedisCommand("SAVE"))
        // A's last append is acknowledged but not in the snapshot: a crash loses it (as an AOF
        // written every second loses its last second), and the list keeps its epoch.
        _ = try f.process(f.a, [payment("p3", at: 2, amount: 100), payment("p4", at: 3, amount: 200)])
        redis.stop()
        try redis.start()
        #expect(try f.length("c1") == 3)
        // B, cold, reads p1 and p2 and appends where p3 and p4 were.
        #expect(try f.process(f.b, [payment("p5", at: 4, amount: 1_000), payment("p6", at: 5, amount: 2_000)]).values == [3, 1_003, 4, 3_003])
        // A: its pooled connection died with the server, so its first call fails as the engine
        // sees it (unavailable) and the batch is sent again. Its cursor pointed past p2, and
        // B's entries now sit there: without noticing the new server it read p3 and p4 from its
        // mirror and never p5 and p6 (count 5, sum 10,303).
        var values: [Double] = []
        for attempt in 1...3 {
            do {
                values = try f.process(f.a, [payment("p7", at: 6, amount: 10_000)]).values
                break
            } catch {
                guard case FeatureStoreError.unavailable = error, attempt < 3 else { throw error }
            }
        }
        #expect(values == [5, 13_003])
    }

    @Test("A retry of a batch that never reached Redis goes as a recovery, finds none of its entries, and appends them once")
    func recoveryOfABatchThatNeverArrived() throws {
        let redis = DisposableRedis()
        try redis.start()
        defer { redis.stop() }
        let f = try Fixture("never-arrived", configuration: redis.configuration)
        try f.run(f.a, [payment("p1", at: 0, amount: 1)])
        try f.run(f.b, [payment("p2", at: 10, amount: 2)])
        // Every other client's connection is closed: A's next call fails on its pooled connection
        // before the server reads it, as an unavailable error (the engine then retries the batch).
        let admin = try f.connection()
        _ = try admin.send(RedisCommand("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"))
        let batch = [payment("p3", at: 20, amount: 4), payment("p4", at: 21, card: "c2", amount: 8)]
        var out: [Double] = []
        do {
            _ = try f.a.processSync(batch, plan: Self.plan, mode: .update, into: &out)
            Issue.record("the call on a killed connection answered")
        } catch {
            guard case .unavailable = error else { Issue.record("expected unavailable, got \(error)"); return }
        }
        #expect(try f.length("c1") == 3)
        // The retry: a recovery (one EVALSHA, no MULTI block), which finds neither p3 in c1's log
        // nor c2's log, appends both, and catches A up on B's p2.
        let scripts = try admin.calls("evalsha"), blocks = try admin.calls("exec")
        #expect(try f.run(f.a, batch) == [3, 7, 1, 8])
        #expect(try admin.calls("evalsha") - scripts == 1)
        #expect(try admin.calls("exec") == blocks)
        #expect(try f.length("c1") == 4)
        #expect(try f.length("c2") == 2)
        // A third instance, cold (B's connection was closed too), reads the whole log: p3 once.
        let c = RedisFeatureStore(configuration: f.configuration, lateness: .minutes(1), keyPrefix: f.prefix)
        #expect(try f.run(c, [payment("p5", at: 30, amount: 16)]) == [4, 23])
    }

    @Test("Scripts flushed from Redis: the EVALSHA beside a MULTI block is answered NOSCRIPT, loaded and sent again alone")
    func scriptsFlushedBesideTheBlock() throws {
        let redis = DisposableRedis()
        try redis.start()
        defer { redis.stop() }
        let f = try Fixture("noscript", configuration: redis.configuration)
        try f.run(f.a, [payment("p1", at: 0, amount: 1)])
        let admin = try f.connection()
        _ = try admin.send(RedisCommand("SCRIPT", "FLUSH"))
        let scripts = try admin.calls("evalsha"), blocks = try admin.calls("exec")
        // c1 known (the block), c2 new (LogScript beside it, NOSCRIPT the first time).
        #expect(try f.roundTrips(f.a, [payment("p2", at: 10, amount: 2), payment("p3", at: 11, card: "c2", amount: 4)]) == [1])
        #expect(try admin.calls("evalsha") - scripts == 1)
        #expect(try admin.calls("exec") - blocks == 1)
        #expect(try f.length("c1") == 3)
        #expect(try f.length("c2") == 2)
        #expect(try f.run(f.a, [payment("p4", at: 20, amount: 8)]) == [3, 11])
    }

    @Test("A reply lost on the MULTI path: the retry finds the batch's entries, splits off what others appended before them, appends nothing twice",
          arguments: [1, 2])
    func lostReply(afterRound lost: Int) throws {
        let f = try Fixture("lost-\(lost)")
        let batch = try Self.loseReply(f, afterRound: lost)
        // The retry: p3 and p5 do not see each other as redeliveries, p5 (15 s) is counted where it belongs.
        #expect(try f.run(f.a, batch) == [3, 7, 1, 8, 3, 19])
        #expect(try f.length("c1") == 5)
        #expect(try f.length("c2") == 2)
        #expect(try f.run(f.b, [payment("p6", at: 30, amount: 32)]) == [5, 55])
    }

    /// p1 on A and p2 on B (card c1), then a batch of A whose reply of round trip `lost` is lost:
    /// c1 known (the MULTI block; B's p2 to catch up on in round trip 2), c2 new (LogScript in
    /// round trip 1). Returns the batch, for the retry.
    static func loseReply(_ f: Fixture, afterRound lost: Int, sourceLocation: SourceLocation = #_sourceLocation) throws -> [PaymentEvent] {
        try f.run(f.a, [payment("p1", at: 0, amount: 1)])
        try f.run(f.b, [payment("p2", at: 10, amount: 2)])
        let batch = [payment("p3", at: 20, card: "c1", amount: 4), payment("p4", at: 21, card: "c2", amount: 8), payment("p5", at: 15, card: "c1", amount: 16)]
        f.a.setAfterRoundTrip { (round: Int) throws(FeatureStoreError) in
            if round == lost { throw FeatureStoreError.unavailable("reply lost (test)") }
        }
        defer { f.a.setAfterRoundTrip(nil) }
        var out: [Double] = []
        #expect(throws: FeatureStoreError.self, sourceLocation: sourceLocation) { _ = try f.a.processSync(batch, plan: plan, mode: .update, into: &out) }
        // Round trip 1 appended c1's entries and created c2's log.
        #expect(try f.length("c1") == 5, sourceLocation: sourceLocation)
        #expect(try f.length("c2") == 2, sourceLocation: sourceLocation)
        return batch
    }

    /// What the instance runs between a lost reply and the engine's retry of that batch.
    enum Between: String, CaseIterable, Sendable, CustomTestStringConvertible {
        /// `POST /v1/score?dry_run=true` on the same card.
        case dryRun
        /// Another batch (HTTP scoring, another partition) with an event of the same card.
        case updateOfOtherEvents
        var testDescription: String { rawValue }
    }

    @Test("Another call between a lost reply and its retry (a dry run, an update of other events of the card): the retry appends nothing twice and gets the values of the batch where it stands in the log",
          arguments: [1, 2], Between.allCases)
    func callBetweenLostReplyAndRetry(afterRound lost: Int, between: Between) throws {
        let f = try Fixture("between-\(lost)-\(between)")
        let batch = try Self.loseReply(f, afterRound: lost)
        var out: [Double] = []
        // The batch is in the log after p2: that is where the oracle takes it.
        let expected = f.oracle.withLock { $0.process(batch, mode: .update).values }
        #expect(expected == [3, 7, 1, 8, 3, 19])
        switch between {
        case .dryRun:
            // Window (-30 s, 30 s]: p1, p2, p3, p5 and itself.
            _ = try f.a.processSync([payment("q1", at: 30, amount: 32)], plan: Self.plan, mode: .readOnly, into: &out)
            #expect(out == [5, 55])
        case .updateOfOtherEvents:
            #expect(try f.run(f.a, [payment("p6", at: 25, amount: 32)]) == [5, 55])
        }
        // The retry: p3 does not see p5 (later in its batch), nothing goes to the log a second time.
        #expect(try f.process(f.a, batch).values == expected)
        #expect(try f.length("c1") == (between == .dryRun ? 5 : 6))
        #expect(try f.length("c2") == 2)
        // Both instances agree with the oracle afterwards: c1 counted once per payment.
        #expect(try f.run(f.b, [payment("p7", at: 31, amount: 64)]) == (between == .dryRun ? [5, 87] : [6, 119]))
        #expect(try f.run(f.a, [payment("p8", at: 32, card: "c2", amount: 128)]) == [2, 136])
    }

    @Test("A rules reload between a lost reply and its retry: the retry under the new plan finds the batch in the card's log, which the plan change kept, and appends it only to the account's new one")
    func planChangeBetweenLostReplyAndRetry() throws {
        let f = try Fixture("between-plan")
        let batch = try Self.loseReply(f, afterRound: 1)
        var out: [Double] = []
        // The card's features are unchanged, so its logs are kept; the account's are new.
        var reloaded = Self.plan
        _ = reloaded.register(try FeatureSpec(parsing: "count(account_id, 1m)"))
        _ = try f.a.processSync(batch, plan: reloaded, mode: .update, into: &out)
        // Per event: the card's count and sum as in one call, then the account's count (p5 at 15 s
        // is before p3 and p4).
        #expect(out == [3, 7, 1, 1, 8, 2, 3, 19, 1])
        #expect(try f.length("c1") == 5)
        #expect(try f.length("c2") == 2)
    }
}
