import FraudCore
import Testing
@testable import Features
import LocalStackSupport

/// Edge cases of reads in the past: the Redis script answers a late event by deltas against the
/// running state of the newest window (entries in (t, n] leave, entries in (t − W, n − W] enter),
/// reads a short window directly, and falls back to the entries before t for a min/max whose
/// extreme lies after t. Each table is checked against the oracle and the in-memory store (no
/// services), and against Redis one event per batch and the whole case in one batch.
let latePathCases: [WindowCase] = [
    WindowCase(
        name: "A late event's window starts exactly at t − W: the entry at t − W is out, the next one in",
        features: ["count(card_fingerprint, 10m)", "sum(amount_minor, card_fingerprint, 10m)", "min(amount_minor, card_fingerprint, 10m)",
                   "max(amount_minor, card_fingerprint, 10m)"],
        events: [payment("p1", at: 0, amount: 1), payment("p2", at: 1, amount: 10), payment("p3", at: 700, amount: 100),
                 payment("p4", at: 600, amount: 1000), payment("p5", at: 601, amount: 10000), payment("p6", at: 1201, amount: 5)],
        expected: [[1, 1, 1, 1], [2, 11, 1, 10], [1, 100, 100, 100], [2, 1010, 10, 1000], [2, 11000, 1000, 10000], [2, 105, 5, 100]]
    ),
    WindowCase(
        name: "Ties in time on the late path: equal-time entries stay in, seconds_since_last looks strictly before",
        features: ["count(card_fingerprint, 10m)", "sum(amount_minor, card_fingerprint, 10m)", "distinct(ip, card_fingerprint, 10m)",
                   "seconds_since_last(card_fingerprint)"],
        events: [payment("p1", at: 100, amount: 1, ip: "a"), payment("p2", at: 200, amount: 10, ip: "b"), payment("p3", at: 200, amount: 100, ip: "c"),
                 payment("p4", at: 300, amount: 1000, ip: "a"), payment("p5", at: 200, amount: 10000, ip: "b"),
                 payment("p2", at: 200, amount: 10, ip: "b"), payment("p6", at: 301, amount: 5, ip: "d")],
        expected: [[1, 1, 1, nan], [2, 11, 2, 100], [3, 111, 3, 100], [4, 1111, 3, 100], [4, 10111, 3, 100], [4, 10111, 3, 100],
                   [6, 11116, 4, 1]],
        report: BatchReport(duplicates: 1, tooLate: 0)
    ),
    WindowCase(
        name: "Late across a window edge: entries that left the newest window come back for the late event",
        features: ["count(card_fingerprint, 2m)", "sum(amount_minor, card_fingerprint, 2m)", "distinct(ip, card_fingerprint, 2m)",
                   "min(amount_minor, card_fingerprint, 2m)"],
        events: [payment("p1", at: 0, amount: 1, ip: "a"), payment("p2", at: 60, amount: 10, ip: "b"), payment("p3", at: 130, amount: 100, ip: "a"),
                 payment("p4", at: 100, amount: 1000, ip: "c"), payment("p5", at: 250, amount: 5, ip: "b"), payment("p6", at: 140, amount: 7, ip: "d")],
        expected: [[1, 1, 1, 1], [2, 11, 2, 1], [2, 110, 2, 10], [3, 1011, 3, 1], [1, 5, 1, 5], [4, 1117, 4, 7]]
    ),
    WindowCase(
        name: "A window shorter than the event is late: the late event reads its own window",
        features: ["count(card_fingerprint, 1m)", "sum(amount_minor, card_fingerprint, 1m)", "max(amount_minor, card_fingerprint, 1m)"],
        events: [payment("p1", at: 0, amount: 1), payment("p2", at: 30, amount: 10), payment("p3", at: 200, amount: 100),
                 payment("p4", at: 50, amount: 1000), payment("p5", at: 220, amount: 5)],
        expected: [[1, 1, 1], [2, 11, 10], [1, 100, 100], [3, 1011, 1000], [2, 105, 100]]
    ),
    WindowCase(
        name: "min/max whose extreme lies after the late event: the entries before it decide",
        features: ["max(amount_minor, card_fingerprint, 10m)", "min(amount_minor, card_fingerprint, 10m)", "count(card_fingerprint, 10m)"],
        events: [payment("p1", at: 0, amount: 50), payment("p2", at: 100, amount: 30), payment("p3", at: 200, amount: 90),
                 payment("p4", at: 150, amount: 10), payment("p5", at: 210, amount: 20), payment("p6", at: 205, amount: 95)],
        expected: [[50, 50, 1], [50, 30, 2], [90, 30, 3], [50, 10, 3], [90, 10, 5], [95, 10, 5]]
    ),
]

/// Read-only reads around the watermark: ahead of it (entries leave), far ahead (nothing stored is
/// in the window) and behind it; then an update shows nothing was stored.
private let readOnlyPlan = FeaturePlan([
    "count(card_fingerprint, 10m)", "sum(amount_minor, card_fingerprint, 10m)", "max(amount_minor, card_fingerprint, 10m)",
    "distinct(ip, card_fingerprint, 10m)",
].map { try! FeatureSpec(parsing: $0) })
private let readOnlySteps: [(events: [PaymentEvent], mode: StoreMode, expected: [Double])] = [
    ([payment("p1", at: 0, amount: 5, ip: "a"), payment("p2", at: 500, amount: 7, ip: "b")], .update, [1, 5, 5, 1, 2, 12, 7, 2]),
    ([payment("q1", at: 700, amount: 1, ip: "a"), payment("q2", at: 1200, amount: 2, ip: "c"), payment("q3", at: 450, amount: 3, ip: "b")], .readOnly,
     [2, 8, 7, 2, 1, 2, 2, 1, 2, 8, 5, 2]),
    ([payment("p3", at: 600, amount: 9, ip: "c")], .update, [2, 16, 9, 2]),
]

/// Runs a case through `process` in batches of `batchSize` and returns the report and one row per event.
private func rows(
    of c: WindowCase, batchSize: Int, process: ([PaymentEvent], FeaturePlan) async throws -> ([Double], BatchReport)
) async throws -> (BatchReport, [[Double]]) {
    let plan = FeaturePlan(try c.features.map { try FeatureSpec(parsing: $0) })
    var report = BatchReport()
    var rows: [[Double]] = []
    for start in stride(from: 0, to: c.events.count, by: batchSize) {
        let batch = Array(c.events[start..<min(c.events.count, start + batchSize)])
        let (out, r) = try await process(batch, plan)
        report.duplicates += r.duplicates
        report.tooLate += r.tooLate
        for i in batch.indices { rows.append(Array(out[(i * plan.count)..<((i + 1) * plan.count)])) }
    }
    return (report, rows)
}

private func expectRows(_ got: [[Double]], _ c: WindowCase, _ label: String) {
    #expect(got.count == c.expected.count, "\(label)")
    for (i, (row, want)) in zip(got, c.expected).enumerated() {
        #expect(zip(row, want).allSatisfy(sameFeature), "\(label), event \(i + 1): got \(row), want \(want)")
    }
}

@Suite("Late-path window edges, oracle and in-memory")
struct LatePathTableTests {
    @Test(arguments: latePathCases)
    func oracleAndInMemory(_ c: WindowCase) async throws {
        var oracle = WindowOracle(plan: FeaturePlan(try c.features.map { try FeatureSpec(parsing: $0) }))
        let expected = oracle.process(c.events).values
        #expect(zip(expected, c.expected.flatMap { $0 }).allSatisfy(sameFeature), "oracle: \(expected)")
        let store = InMemoryFeatureStore(lateness: .minutes(5), shardCount: 2)
        var out: [Double] = []
        let (report, got) = try await rows(of: c, batchSize: 1) { batch, plan in
            let r = try await store.process(batch, plan: plan, mode: .update, into: &out)
            return (out, r)
        }
        #expect(report == c.report)
        expectRows(got, c, "in-memory")
    }

    @Test("Read-only reads ahead of, far ahead of and behind the watermark; nothing is stored")
    func readOnlyInMemory() async throws {
        let store = InMemoryFeatureStore(lateness: .minutes(5), shardCount: 2)
        var out: [Double] = []
        for (i, step) in readOnlySteps.enumerated() {
            _ = try await store.process(step.events, plan: readOnlyPlan, mode: step.mode, into: &out)
            #expect(out.elementsEqual(step.expected, by: sameFeature), "step \(i + 1): got \(out)")
        }
    }
}

@Suite("Late-path window edges, Redis", .enabled(if: LocalStack.isEnabled, LocalStack.skipMessage))
struct RedisLatePathTests {
    @Test(arguments: latePathCases)
    func redis(_ c: WindowCase) async throws {
        for batchSize in [1, c.events.count] {
            let store = RedisFeatureStore(configuration: try RedisTestEnvironment.configuration(), keyPrefix: RedisTestEnvironment.uniquePrefix("late"))
            var out: [Double] = []
            let (report, got) = try await rows(of: c, batchSize: batchSize) { batch, plan in
                let r = try store.processSync(batch, plan: plan, mode: .update, into: &out)
                return (out, r)
            }
            #expect(report == c.report, "batch size \(batchSize)")
            expectRows(got, c, "Redis, batch size \(batchSize)")
        }
    }

    @Test("Read-only reads ahead of, far ahead of and behind the watermark; nothing is stored")
    func readOnly() async throws {
        let store = RedisFeatureStore(configuration: try RedisTestEnvironment.configuration(), keyPrefix: RedisTestEnvironment.uniquePrefix("late-ro"))
        var out: [Double] = []
        for (i, step) in readOnlySteps.enumerated() {
            _ = try store.processSync(step.events, plan: readOnlyPlan, mode: step.mode, into: &out)
            #expect(out.elementsEqual(step.expected, by: sameFeature), "step \(i + 1): got \(out)")
        }
    }
}
