import FraudCore
import Testing
@testable import Features

/// One window-semantics case: events in arrival order and the exact features each must read.
struct WindowCase: Sendable, CustomTestStringConvertible {
    var name: String
    var features: [String]
    var events: [PaymentEvent]
    /// One row per event, one value per feature; NaN is "missing".
    var expected: [[Double]]
    var report = BatchReport()
    var testDescription: String { name }
}

let nan = Double.nan

let windowCases: [WindowCase] = [
    WindowCase(
        name: "The worked example of docs/features.md",
        features: ["count(card_fingerprint,10m)", "sum(amount_minor,card_fingerprint,10m)", "max(amount_minor,card_fingerprint,10m)", "seconds_since_last(card_fingerprint)"],
        events: [payment("p1", at: 0, amount: 50), payment("p2", at: 100, amount: 40), payment("p3", at: 50, amount: 90), payment("p2", at: 100, amount: 40),
                 payment("p4", at: 600, amount: 10), payment("p5", at: 290, amount: 5), payment("p6", at: 651, amount: 1)],
        expected: [[1, 50, 50, nan], [2, 90, 50, 100], [2, 140, 90, 50], [3, 180, 90, 50], [3, 140, 90, 500], [3, 180, 90, 190], [3, 51, 40, 51]],
        report: BatchReport(duplicates: 1, tooLate: 1)
    ),
    WindowCase(
        name: "t − W is excluded, t is included",
        features: ["count(card_fingerprint, 10m)", "sum(amount_minor, card_fingerprint, 10m)"],
        events: [payment("p1", at: 0, amount: 1), payment("p2", at: 599, amount: 10), payment("p3", at: 600, amount: 100), payment("p4", at: 1199, amount: 1000)],
        expected: [[1, 1], [2, 11], [2, 110], [2, 1100]]
    ),
    WindowCase(
        name: "Ties in time: all equal-time events are in, seconds_since_last looks strictly before",
        features: ["count(card_fingerprint, 1m)", "seconds_since_first(card_fingerprint)", "seconds_since_last(card_fingerprint)"],
        events: [payment("p1", at: 100), payment("p2", at: 100), payment("p3", at: 100), payment("p4", at: 130)],
        expected: [[1, 0, nan], [2, 0, nan], [3, 0, nan], [4, 30, 30]]
    ),
    WindowCase(
        name: "Late within lateness is placed at its event time for every later reader",
        features: ["count(card_fingerprint, 2m)", "sum(amount_minor, card_fingerprint, 2m)", "max(amount_minor, card_fingerprint, 2m)"],
        events: [payment("p1", at: 1000, amount: 1), payment("p2", at: 1240, amount: 10), payment("p3", at: 1060, amount: 100), payment("p4", at: 1170, amount: 1000)],
        expected: [[1, 1, 1], [1, 10, 10], [2, 101, 100], [2, 1100, 1000]]
    ),
    WindowCase(
        name: "Beyond lateness: read over what is stored, never added",
        features: ["count(card_fingerprint, 10m)", "sum(amount_minor, card_fingerprint, 10m)"],
        events: [payment("p1", at: 0, amount: 1), payment("p2", at: 400, amount: 10), payment("p3", at: 99, amount: 100),
                 payment("p4", at: 100, amount: 1000), payment("p5", at: 401, amount: 10000)],
        expected: [[1, 1], [2, 11], [1, 1], [2, 1001], [4, 11011]],
        report: BatchReport(duplicates: 0, tooLate: 1)
    ),
    WindowCase(
        name: "A redelivery changes no window and reads like its original",
        features: ["count(card_fingerprint, 10m)", "sum(amount_minor, card_fingerprint, 10m)", "distinct(ip, card_fingerprint, 10m)"],
        events: [payment("p1", at: 0, amount: 5, ip: "a"), payment("p2", at: 10, amount: 7, ip: "b"), payment("p1", at: 0, amount: 5, ip: "a"),
                 payment("p3", at: 20, amount: 1, ip: "c"), payment("p3", at: 20, amount: 1, ip: "c")],
        expected: [[1, 5, 1], [2, 12, 2], [1, 5, 1], [3, 13, 3], [3, 13, 3]],
        report: BatchReport(duplicates: 2, tooLate: 0)
    ),
    WindowCase(
        name: "Expired entries are gone: a too-late event reads only what is retained",
        features: ["count(card_fingerprint, 10m)"],
        events: [payment("p1", at: 0), payment("p2", at: 901), payment("p3", at: 600)],
        expected: [[1], [1], [0]],
        report: BatchReport(duplicates: 0, tooLate: 1)
    ),
    WindowCase(
        name: "A key idle past longest window + 2 × lateness is evicted for events far behind the store",
        features: ["count(card_fingerprint, 10m)"],
        events: [payment("p1", at: 0, card: "c1"), payment("p2", at: 1201, card: "c2"), payment("p3", at: 100, card: "c1"),
                 payment("p4", at: 101, card: "c1")],
        expected: [[1], [1], [1], [2]]
    ),
    WindowCase(
        name: "Missing key: count and sums 0, the rest missing",
        features: ["count(beneficiary_id, 1h)", "sum(amount_minor, beneficiary_id, 1h)", "avg(amount_minor, beneficiary_id, 1h)",
                   "min(amount_minor, beneficiary_id, 1h)", "distinct(ip, beneficiary_id, 1h)", "seconds_since_first(beneficiary_id)"],
        events: [payment("p1", at: 0, amount: 40, beneficiary: "b1"), payment("p2", at: 5, amount: 60), payment("p3", at: 10, amount: 20, beneficiary: "b1")],
        expected: [[1, 40, 40, 40, 1, 0], [0, 0, nan, nan, 0, nan], [2, 60, 30, 20, 1, 10]]
    ),
    WindowCase(
        name: "Filters, and a clause on a missing field is false even for !=",
        features: ["count(card_fingerprint, 1h, where channel == \"ecom\")", "count(card_fingerprint, 1h, where beneficiary_id != \"b1\")",
                   "sum(amount_minor, card_fingerprint, 1h, where type in [\"payment\", \"transfer\"] and channel != \"pos\")"],
        events: [payment("p1", at: 0, amount: 1, channel: .ecom, type: .refund), payment("p2", at: 1, amount: 10, channel: .pos, type: .payment, beneficiary: "b2"),
                 payment("p3", at: 2, amount: 100, channel: .ecom, type: .transfer, beneficiary: "b1")],
        expected: [[1, 0, 0], [1, 1, 0], [2, 1, 100]]
    ),
    WindowCase(
        name: "amount_usd converts through the rates; a currency without a rate is missing",
        features: ["sum(amount_usd, card_fingerprint, 1h)", "avg(amount_usd, card_fingerprint, 1h)", "count(card_fingerprint, 1h)", "max(amount_usd, card_fingerprint, 1h)"],
        events: [payment("p1", at: 0, amount: 100, currency: Currency("SEK")!), payment("p2", at: 1, amount: 1000, currency: Currency("JPY")!),
                 payment("p3", at: 2, amount: 1234, currency: .eur)],
        expected: [[0, nan, 1, nan], [6.7, 6.7, 2, 6.7], [20.0272, 10.0136, 3, 13.3272]]
    ),
    WindowCase(
        // Built directly: the decoder refuses amounts above 10^15, but a window must not trap
        // or wrap on what it is given.
        name: "Sums past Int64.max stay exact; an amount_usd beyond Int64 micro-dollars is missing",
        features: ["sum(amount_minor, card_fingerprint, 1h)", "avg(amount_minor, card_fingerprint, 1h)",
                   "sum(amount_usd, card_fingerprint, 1h)", "count(card_fingerprint, 1h)"],
        events: [payment("p1", at: 0, amount: 5_000_000_000_000_000_000), payment("p2", at: 1, amount: 5_000_000_000_000_000_000),
                 payment("p3", at: 2, amount: 100)],
        expected: [[5e18, 5e18, 0, 1], [1e19, 5e18, 0, 2], [1e19 + 100, (1e19 + 100) / 3, 1, 3]]
    ),
    WindowCase(
        name: "An empty metadata value is absent: no key, no distinct value, and a filter clause on it is false",
        features: [#"count(card_fingerprint, 1h, where metadata.x != "y")"#, "distinct(metadata.x, card_fingerprint, 1h)", "count(metadata.x, 1h)"],
        events: [payment("p1", at: 0, metadata: ["x": ""]), payment("p2", at: 1, metadata: ["x": "z"]), payment("p3", at: 2, metadata: ["x": ""])],
        expected: [[0, 0, 0], [1, 1, 1], [1, 1, 0]]
    ),
    WindowCase(
        name: "seconds_since_* look back over the plan's longest window",
        features: ["count(card_fingerprint, 10m)", "seconds_since_first(card_fingerprint)", "seconds_since_last(card_fingerprint)"],
        events: [payment("p1", at: 0), payment("p2", at: 300), payment("p3", at: 700), payment("p4", at: 1400)],
        expected: [[1, 0, nan], [2, 300, 300], [2, 400, 400], [1, 0, nan]]
    ),
    WindowCase(
        name: "min, max and distinct see a late insert in the middle of the window",
        features: ["min(amount_minor, card_fingerprint, 10m)", "max(amount_minor, card_fingerprint, 10m)", "distinct(ip, card_fingerprint, 10m)"],
        events: [payment("p1", at: 0, amount: 50, ip: "a"), payment("p2", at: 100, amount: 40, ip: "b"), payment("p3", at: 50, amount: 90, ip: "c"),
                 payment("p4", at: 120, amount: 45, ip: "a"), payment("p5", at: 651, amount: 60, ip: "a")],
        expected: [[50, 50, 1], [40, 50, 2], [50, 90, 2], [40, 90, 3], [40, 60, 2]]
    ),
    WindowCase(
        name: "A late min/max read: from the deque when the extreme is inside its window, by a scan when it lies after it",
        features: ["max(amount_minor, card_fingerprint, 1h)", "min(amount_minor, card_fingerprint, 1h)"],
        events: [payment("p1", at: 0, amount: 5), payment("p2", at: 10, amount: 9), payment("p3", at: 20, amount: 3),
                 payment("p4", at: 15, amount: 1), payment("p5", at: 5, amount: 2)],
        expected: [[5, 5], [9, 5], [9, 3], [9, 1], [5, 2]]
    ),
]

@Suite("Window semantics, exact values")
struct WindowSemanticsTests {
    @Test(arguments: windowCases)
    func inMemory(_ c: WindowCase) async throws {
        let plan = FeaturePlan(try c.features.map { try FeatureSpec(parsing: $0) })
        for batchSize in [1, c.events.count] {
            let store = InMemoryFeatureStore(lateness: .minutes(5), shardCount: 2)
            var report = BatchReport()
            var rows: [[Double]] = []
            var out: [Double] = []
            for start in stride(from: 0, to: c.events.count, by: batchSize) {
                let batch = Array(c.events[start..<min(c.events.count, start + batchSize)])
                let r = try await store.process(batch, plan: plan, mode: .update, into: &out)
                report.duplicates += r.duplicates
                report.tooLate += r.tooLate
                for i in batch.indices { rows.append(Array(out[(i * plan.count)..<((i + 1) * plan.count)])) }
            }
            #expect(report == c.report, "batch size \(batchSize)")
            for (i, (row, want)) in zip(rows, c.expected).enumerated() {
                #expect(zip(row, want).allSatisfy(sameFeature), "event \(i + 1), batch size \(batchSize): got \(row), want \(want)")
            }
            // The oracle agrees with the hand-computed table too.
            var oracle = WindowOracle(plan: plan)
            let expected = oracle.process(c.events).values
            #expect(zip(expected, c.expected.flatMap { $0 }).allSatisfy(sameFeature), "oracle: \(expected)")
        }
    }

    @Test("Expired entries are freed and idle keys are swept")
    func expiryAndSweep() throws {
        let plan = FeaturePlan([try FeatureSpec(parsing: "count(card_fingerprint, 10m)")])
        let store = InMemoryFeatureStore(lateness: .minutes(5), shardCount: 1)
        var out: [Double] = []
        _ = store.processSync([payment("p1", at: 0, card: "old"), payment("p2", at: 10, card: "c")], plan: plan, mode: .update, into: &out)
        _ = store.processSync([payment("p3", at: 911, card: "c")], plan: plan, mode: .update, into: &out)
        // Retention is 10m + 5m: p2 at 10s is dropped once the key has seen 911s; "old" is idle, not yet swept.
        #expect(store.statistics().keys == 2)
        #expect(store.statistics().entries == 2)
        // 5,000 events on ten fresh keys, far later: the sweep drops every key idle past 10m + 2 × 5m.
        for batch in 0..<50 {
            let events = (0..<100).map { payment("q\(batch)-\($0)", at: 5000 + Int64(batch), card: "k\($0 % 10)") }
            _ = store.processSync(events, plan: plan, mode: .update, into: &out)
        }
        #expect(store.statistics().keys == 10)
        #expect(store.statistics().entries == 5000)
    }

    @Test("The longest window with a lateness near Int64.max: retention saturates instead of trapping, and windows still count")
    func extremeLateness() throws {
        let plan = FeaturePlan([try FeatureSpec(parsing: "count(card_fingerprint, 366d)")])
        let compiled = CompiledPlan(plan: plan, lateness: EventDuration(milliseconds: .max - 1))
        #expect(compiled.retention == .max)
        #expect(compiled.evictAfter == .max)
        let store = InMemoryFeatureStore(lateness: EventDuration(milliseconds: .max - 1), shardCount: 1)
        var out: [Double] = []
        _ = store.processSync([payment("p1", at: 0), payment("p2", at: 86_400 * 365)], plan: plan, mode: .update, into: &out)
        #expect(out == [1, 2])
    }

    @Test("Read-only mode counts the event itself but stores nothing")
    func readOnly() throws {
        let plan = FeaturePlan([try FeatureSpec(parsing: "count(card_fingerprint, 10m)"), try FeatureSpec(parsing: "distinct(ip, card_fingerprint, 10m)")])
        let store = InMemoryFeatureStore()
        var out: [Double] = []
        _ = store.processSync([payment("p1", at: 0, ip: "a")], plan: plan, mode: .update, into: &out)
        _ = store.processSync([payment("p2", at: 5, ip: "b")], plan: plan, mode: .readOnly, into: &out)
        #expect(out == [2, 2])
        _ = store.processSync([payment("p3", at: 6, ip: "a")], plan: plan, mode: .update, into: &out)
        #expect(out == [2, 1])
        #expect(store.statistics().entries == 2)
    }
}
