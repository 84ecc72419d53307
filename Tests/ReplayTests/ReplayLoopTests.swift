import Features
import FraudCore
import Glibc
import Testing
import LocalStackSupport
@testable import Replay

/// The replay loop over a real JSON Lines file, with simple deterministic deciders standing in
/// for the engine (the engine-backed replay is tested in EngineReplayTests).
@Suite("Replay loop", .temporaryFolder)
struct ReplayLoopTests {
    static func reader(_ path: String) throws -> DecisionReplay.NextBatch {
        let reader = try JSONLinesReader(path: path)
        return { max in try reader.nextBatch(maxLines: max) }
    }

    /// `name` in the test's temporary folder: every suite that calls this needs `.temporaryFolder`.
    static func temporaryPath(_ name: String) -> String { TemporaryFolder.current.path(name) }

    /// 300 events over five hours, every 7th fraud, one malformed line after the 100th.
    static func writeInput(_ name: String) throws -> String {
        let path = temporaryPath(name)
        let output = try FileOutput(path: path)
        let encoder = EventEncoder()
        for index in 0..<300 {
            let fraud = index % 7 == 0
            let event = Fixtures.event("p\(index)", minute: Int64(index), label: fraud ? .fraud : .legit, scenario: fraud ? (index % 2 == 0 ? "card_testing" : "takeover") : nil, amount: Int64(100 + index * 37 % 5_000))
            try output.append { buffer in
                encoder.append(event, to: &buffer)
                buffer.append(0x0A)
            }
            if index == 100 { try output.write(Array("{\"payment_id\": oops}\n".utf8)) }
        }
        try output.close()
        return path
    }

    /// Declines above `threshold` minor units and reviews above half of it.
    static func thresholdDecider(_ threshold: Int64, name: String) -> ReplayConfiguration {
        ReplayConfiguration(name: name, rules: [RuleDescriptor(name: "big_amount", action: .decline, shadow: false)]) { events in
            events.map { event in
                let amount = event.amount.minorUnits
                let outcome: Outcome = amount > threshold ? .decline : (amount > threshold / 2 ? .review : .approve)
                let rules = outcome == .approve ? [] : ["big_amount"]
                var decision = Fixtures.decision(event, outcome, score: Double(amount) / 5_100, points: rules.count * 10, rules: rules, model: "m", rulesVersion: name)
                decision.decidedAt = EventTime(millisecondsSinceEpoch: 42)  // wall clock in serve
                decision.latencyMicros = 1234
                return decision
            }
        }
    }

    static func decisions(at path: String) throws -> [Decision] {
        let decoder = DecisionDecoder()
        var out: [Decision] = []
        let reader = try JSONLinesReader(path: path)
        try reader.forEachLine { _, bytes in out.append(try decoder.decode(bytes)) }
        return out
    }

    static func readBytes(_ path: String) -> [UInt8] {
        let batch = try! JSONLinesReader(path: path)
        var bytes: [UInt8] = []
        try! batch.forEachLine { _, line in bytes += Array(line) + [0x0A] }
        return bytes
    }

    @Test("decisions come out in input order with decided_at = event time and latency 0, byte-identical across runs")
    func reproducible() async throws {
        let input = try Self.writeInput("repro.jsonl")
        var outputs: [[UInt8]] = []
        for run in 0..<2 {
            let out = Self.temporaryPath("repro-\(run).decisions.jsonl")
            let output = try FileOutput(path: out)
            var bad: [EventLineError] = []
            let replay = DecisionReplay(baseline: Self.thresholdDecider(4_000, name: "A"), batchSize: 64)
            let result = try await replay.run(from: ReplayLoopTests.reader(input), decisionsOut: output, onBadLine: { bad.append($0) })
            try output.close()
            #expect(bad.map(\.line) == [102])
            #expect(result.baseline.summary.events == 300)
            #expect(result.baseline.summary.rejected == 1)
            let decisions = try Self.decisions(at: out)
            #expect(decisions.map(\.paymentID) == (0..<300).map { "p\($0)" })
            #expect(decisions.allSatisfy { $0.decidedAt == $0.eventTime && $0.latencyMicros == 0 })
            outputs.append(Self.readBytes(out))
        }
        #expect(outputs[0] == outputs[1])
        #expect(outputs[0].count > 30_000)
    }

    @Test("--compare reports exactly the flips between the two configurations' separate runs")
    func compareEqualsSeparateRuns() async throws {
        let input = try Self.writeInput("compare.jsonl")
        let a = Self.thresholdDecider(4_000, name: "A"), b = Self.thresholdDecider(3_000, name: "B")
        func alone(_ configuration: ReplayConfiguration, _ name: String) async throws -> [Decision] {
            let input = input
            let path = Self.temporaryPath(name)
            let output = try FileOutput(path: path)
            _ = try await DecisionReplay(baseline: configuration, batchSize: 50).run(from: ReplayLoopTests.reader(input), decisionsOut: output)
            try output.close()
            return try Self.decisions(at: path)
        }
        let onlyA = try await alone(a, "alone-a.jsonl"), onlyB = try await alone(b, "alone-b.jsonl")
        let result = try await DecisionReplay(baseline: a, candidate: b, batchSize: 50, maxExamples: 100).run(from: ReplayLoopTests.reader(input))
        let diff = try #require(result.diff)
        var expected: [String: [String]] = [:]
        for (x, y) in zip(onlyA, onlyB) where x.outcome != y.outcome { expected["\(x.outcome)→\(y.outcome)", default: []].append(x.paymentID) }
        #expect(!expected.isEmpty)
        #expect(Dictionary(uniqueKeysWithValues: diff.flips.map { ("\($0.from)→\($0.to)", $0.examples) }) == expected)
        #expect(diff.flipped == expected.values.reduce(0) { $0 + $1.count })
        #expect(result.candidate?.summary.outcomes.decline == onlyB.filter { $0.outcome == .decline }.count)
        #expect(result.comparison?.baseline == result.baseline.summary)
    }

    @Test("progress is reported after every batch with the events so far")
    func progress() async throws {
        let input = try Self.writeInput("progress.jsonl")
        var seen: [Int] = []
        _ = try await DecisionReplay(baseline: Self.thresholdDecider(4_000, name: "A"), batchSize: 128)
            .run(from: ReplayLoopTests.reader(input), progress: { seen.append($0.events) })
        // 301 lines in batches of 128: 128 lines (127 events + the bad line), 128, 45.
        #expect(seen == [127, 255, 300])
    }
}

/// Counts the calls that reach the real store behind the shared adapter; feature k of event e is
/// amount(e) × 10 + k, plus 1,000 × the call number, so tests see which call computed a value.
private final class CountingStore: FeatureStore, @unchecked Sendable {
    var calls = 0
    var plans: [Int] = []
    func process(_ events: [PaymentEvent], plan: FeaturePlan, mode: StoreMode, into out: inout [Double]) async throws -> BatchReport {
        calls += 1
        plans.append(plan.count)
        out = events.flatMap { event in (0..<plan.count).map { Double(event.amount.minorUnits * 10 + Int64($0) + 1_000 * Int64(calls)) } }
        return BatchReport(duplicates: calls)
    }
}

@Suite("Shared feature store")
struct SharedFeatureStoreTests {
    let card = FeatureSpec(kind: .count, key: .cardFingerprint, window: .hours(1))
    let account = FeatureSpec(kind: .count, key: .accountID, window: .hours(24))
    let sum = FeatureSpec(kind: .sum, field: .amountMinor, key: .cardFingerprint, window: .hours(1))

    @Test("two consumers: the first computes the union once, the second gets its own columns of it")
    func reuseAcrossPlans() async throws {
        let inner = CountingStore()
        let union = FeaturePlan([card, account, sum])
        let shared = SharedFeatureStore(inner, union: union, consumers: 2)
        let batch = [Fixtures.event("a", amount: 1), Fixtures.event("b", amount: 2)]
        var baseline: [Double] = [], candidate: [Double] = []
        let r1 = try await shared.process(batch, plan: FeaturePlan([card, account]), mode: .update, into: &baseline)
        let r2 = try await shared.process(batch, plan: FeaturePlan([sum, card]), mode: .update, into: &candidate)
        #expect(inner.calls == 1 && inner.plans == [3])
        #expect(baseline == [1010, 1011, 1020, 1021])
        #expect(candidate == [1012, 1010, 1022, 1020])
        #expect(r1 == r2 && shared.reusedBatches == 1)
        // The kept batch serves exactly consumers − 1 further calls: a third call computes again.
        var third: [Double] = []
        _ = try await shared.process(batch, plan: union, mode: .update, into: &third)
        #expect(inner.calls == 2 && third == [2010, 2011, 2012, 2020, 2021, 2022])
    }

    @Test("one consumer keeps nothing; a plan outside the union goes straight to the store")
    func singleConsumer() async throws {
        let inner = CountingStore()
        let shared = SharedFeatureStore(inner, union: FeaturePlan([card]), consumers: 1)
        let batch = [Fixtures.event("a", amount: 1)]
        var out: [Double] = []
        _ = try await shared.process(batch, plan: FeaturePlan([card]), mode: .update, into: &out)
        _ = try await shared.process(batch, plan: FeaturePlan([card]), mode: .update, into: &out)
        #expect(inner.calls == 2 && shared.reusedBatches == 0)
        _ = try await shared.process(batch, plan: FeaturePlan([account]), mode: .update, into: &out)
        #expect(inner.plans == [1, 1, 1] && out == [3010])
    }
}
