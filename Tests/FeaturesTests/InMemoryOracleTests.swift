import FraudCore
import Simulation
import Testing
@testable import Features

/// Every aggregate kind, filtered and unfiltered, over keys that may be missing: the property
/// tests compare every one of these columns for every event.
let everyAggregatePlan = FeaturePlan([
    "count(card_fingerprint, 10m)",
    "count(card_fingerprint, 1h)",
    "sum(amount_minor, card_fingerprint, 1h)",
    "sum(amount_usd, account_id, 30m)",
    "avg(amount_usd, card_fingerprint, 1h)",
    "avg(amount_minor, account_id, 10m)",
    "min(amount_minor, card_fingerprint, 1h)",
    "max(amount_usd, account_id, 1h)",
    "min(amount_usd, ip, 30m)",
    "distinct(ip, account_id, 1h)",
    "distinct(beneficiary_id, card_fingerprint, 30m)",
    "seconds_since_first(card_fingerprint)",
    "seconds_since_last(account_id)",
    "count(beneficiary_id, 1h)",
    "sum(amount_minor, beneficiary_id, 10m)",
    "count(card_fingerprint, 1h, where channel == \"ecom\")",
    "sum(amount_minor, account_id, 1h, where type in [\"payment\", \"transfer\"])",
    "max(amount_minor, ip, 10m, where channel != \"pos\")",
    "distinct(device_id, ip, 1h, where channel == \"ecom\")",
    "seconds_since_last(card_fingerprint, where type not in [\"refund\"])",
    "avg(amount_usd, device_id, 30s, where currency == \"EUR\")",
].map { try! FeatureSpec(parsing: $0) })

/// Runs `events` through the store and the oracle in random batches (some read-only) and returns
/// the number of mismatching values, recording the first few.
func compareWithOracle(
    _ events: [PaymentEvent], plan: FeaturePlan, seed: UInt64, readOnlyRate: Double = 0,
    process: ([PaymentEvent], StoreMode) async throws -> ([Double], BatchReport)
) async throws -> (mismatches: Int, report: BatchReport) {
    var oracle = WindowOracle(plan: plan)
    var random = SimulationRandom(seed: seed)
    var mismatches = 0
    var total = BatchReport()
    var start = 0
    while start < events.count {
        let end = min(events.count, start + Int.random(in: 1...64, using: &random))
        let batch = Array(events[start..<end])
        let mode: StoreMode = Double.random(in: 0..<1, using: &random) < readOnlyRate ? .readOnly : .update
        let (values, report) = try await process(batch, mode)
        let (expected, expectedReport) = oracle.process(batch, mode: mode)
        #expect(report == expectedReport, "batch at \(start)")
        total.duplicates += report.duplicates
        total.tooLate += report.tooLate
        for (i, (a, b)) in zip(values, expected).enumerated() where !sameFeature(a, b) {
            mismatches += 1
            if mismatches <= 5 {
                let event = batch[i / plan.count]
                Issue.record("\(event.paymentID) @\(event.occurredAt) \(plan.features[i % plan.count]): store \(a), oracle \(b)")
            }
        }
        start = end
    }
    return (mismatches, total)
}

@Suite("In-memory store against the brute-force oracle")
struct InMemoryOracleTests {
    @Test("100,000 events with disorder and 1% redeliveries: every aggregate matches", arguments: [(1, 1), (7, 1), (16, 2)])
    func hundredThousand(shards: Int, threads: Int) async throws {
        let events = StreamGenerator(eventCount: 100_000, seed: 42).events()
        let store = InMemoryFeatureStore(configuration: .init(shardCount: shards, parallelism: threads))
        var out: [Double] = []
        let (mismatches, report) = try await compareWithOracle(events, plan: everyAggregatePlan, seed: 7) { batch, mode in
            let report = store.processSync(batch, plan: everyAggregatePlan, mode: mode, into: &out)
            return (out, report)
        }
        #expect(mismatches == 0)
        // The stream really exercises redelivery and lateness.
        #expect(report.duplicates > 500)
        #expect(report.tooLate > 500)
        #expect(store.statistics().capacityEvictions == 0)
    }

    @Test("Keys whose windows hover around the distinct-count scan limit match the oracle as they cross it")
    func windowsAroundTheScanLimit() async throws {
        // An event every 2 s on average: ~6 events per card and ~9 per account in an hour, so windows
        // keep crossing `KeyWindow.distinctScanLimit` both ways (counted by a scan below it, by a
        // counted map above it), late and redelivered events included.
        var generator = StreamGenerator(eventCount: 40_000, seed: 13)
        (generator.cards, generator.accounts, generator.ips, generator.devices, generator.beneficiaries) = (300, 200, 250, 250, 150)
        let events = generator.events()
        let hourly = Dictionary(grouping: events) { "\($0.cardFingerprint)@\($0.occurredAt.millisecondsSinceEpoch / 3_600_000)" }.values.map(\.count)
        #expect(hourly.contains { $0 <= KeyWindow.distinctScanLimit })
        #expect(hourly.contains { $0 > KeyWindow.distinctScanLimit })
        let store = InMemoryFeatureStore(configuration: .init(shardCount: 4))
        var out: [Double] = []
        let (mismatches, report) = try await compareWithOracle(events, plan: everyAggregatePlan, seed: 17, readOnlyRate: 0.1) { batch, mode in
            let report = store.processSync(batch, plan: everyAggregatePlan, mode: mode, into: &out)
            return (out, report)
        }
        #expect(mismatches == 0)
        #expect(report.tooLate > 100)
    }

    @Test("Read-only batches interleaved with updates match the oracle and change nothing")
    func readOnly() async throws {
        let events = StreamGenerator(eventCount: 20_000, seed: 9).events()
        let store = InMemoryFeatureStore()
        var out: [Double] = []
        let (mismatches, _) = try await compareWithOracle(events, plan: everyAggregatePlan, seed: 3, readOnlyRate: 0.3) { batch, mode in
            let report = store.processSync(batch, plan: everyAggregatePlan, mode: mode, into: &out)
            return (out, report)
        }
        #expect(mismatches == 0)
    }

    @Test("A tight key bound with long idle gaps evicts keys and stays exact")
    func evictionUnderGaps() async throws {
        var generator = StreamGenerator(eventCount: 20_000, seed: 11)
        generator.gapRate = 0.01
        let events = generator.events()
        let store = InMemoryFeatureStore(configuration: .init(shardCount: 3))
        var out: [Double] = []
        let (mismatches, _) = try await compareWithOracle(events, plan: everyAggregatePlan, seed: 5) { batch, mode in
            let report = store.processSync(batch, plan: everyAggregatePlan, mode: mode, into: &out)
            return (out, report)
        }
        #expect(mismatches == 0)
    }
}
