import Foundation
import FraudCore
import Testing
import LocalStackSupport
@testable import Features

/// One output line, decoded with JSONDecoder (which, unlike JSONSerialization here, reads doubles exactly).
struct FeatureLine: Decodable {
    var payment_id: String
    var features: [String: Double?]
}

@Suite("Feature replay (waqiti replay --features)", .temporaryFolder)
struct FeatureReplayTests {
    let plan = FeaturePlan([
        "count(card_fingerprint, 10m)", "sum(amount_usd, account_id, 1h)", "avg(amount_minor, card_fingerprint, 1h)",
        "distinct(ip, account_id, 1h, where channel == \"ecom\")", "seconds_since_last(card_fingerprint)", "max(amount_minor, beneficiary_id, 30m)",
    ].map { try! FeatureSpec(parsing: $0) })

    func temporaryPath(_ name: String) -> String { TemporaryFolder.current.path(name) }

    /// 2,000 simulated events as JSON Lines, with a malformed line after the 10th and the 1000th.
    func writeInput() throws -> (path: String, events: [PaymentEvent]) {
        let events = StreamGenerator(eventCount: 2_000, seed: 5).events()
        let encoder = EventEncoder()
        var bytes: [UInt8] = []
        for (i, event) in events.enumerated() {
            bytes += encoder.encode(event)
            bytes.append(0x0A)
            if i == 9 || i == 999 { bytes += Array(#"{"payment_id": "broken", "amount_minor": "#.utf8) + [0x0A] }
        }
        let path = temporaryPath("in.jsonl")
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return (path, events)
    }

    @Test("Writes one line per event in input order with the oracle's values; malformed lines are reported and counted")
    func replayMatchesOracle() async throws {
        let (input, events) = try writeInput()
        let outPath = temporaryPath("features.jsonl")
        let replay = FeatureReplay(plan: plan, store: InMemoryFeatureStore(), batchSize: 100)
        var bad: [String] = []
        let output = try FileOutput(path: outPath)
        let summary = try await replay.run(from: FeatureReplay.reader(for: input), to: output) { bad.append($0.description) }
        try output.close()

        #expect(summary.events == 2_000)
        #expect(summary.badLines == 2)
        #expect(bad.count == 2)
        #expect(bad.first?.hasPrefix("\(input):11: ") == true, "\(bad)")
        #expect(bad.last?.hasPrefix("\(input):1002: ") == true, "\(bad)")

        var oracle = WindowOracle(plan: plan)
        let (expected, expectedReport) = oracle.process(events)
        #expect(summary.duplicates == expectedReport.duplicates)
        #expect(summary.tooLate == expectedReport.tooLate)
        let lines = try String(contentsOfFile: outPath, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 2_000)
        var mismatches = 0
        for (i, line) in lines.enumerated() {
            let decoded = try JSONDecoder().decode(FeatureLine.self, from: Data(line.utf8))
            #expect(decoded.payment_id == events[i].paymentID)
            #expect(decoded.features.count == plan.count)
            for (column, spec) in plan.features.enumerated() {
                let want = expected[i * plan.count + column]
                let got = decoded.features[spec.canonicalName] ?? nil
                let same = want.isNaN ? got == nil : got == want
                if !same {
                    mismatches += 1
                    if mismatches <= 3 { Issue.record("line \(i + 1) \(spec): got \(String(describing: got)), want \(want)") }
                }
            }
        }
        #expect(mismatches == 0)
    }

    @Test("Integral features are JSON integers, averages and USD amounts numbers, missing values null")
    func lineFormat() {
        let plan = FeaturePlan(["count(card_fingerprint,10m)", "avg(amount_minor,card_fingerprint,1h)", "sum(amount_usd,card_fingerprint,1h)",
                                "min(amount_minor,beneficiary_id,1h)", "count(ip,1h,where channel==\"ecom\")"].map { try! FeatureSpec(parsing: $0) })
        var line: [UInt8] = []
        FeatureRowEncoder(plan: plan).append(paymentID: "p\"1", values: [3, 12.5, 20.0272, .nan, 1][...], to: &line)
        #expect(String(decoding: line, as: UTF8.self) == #"{"payment_id":"p\"1","features":{"count(card_fingerprint,10m)":3,"avg(amount_minor,card_fingerprint,1h)":12.5,"sum(amount_usd,card_fingerprint,1h)":20.0272,"min(amount_minor,beneficiary_id,1h)":null,"count(ip,1h,where channel==\"ecom\")":1}}"# + "\n")
    }

    @Test("With a dead-letter file, malformed lines go there with file, line, kind, error and the raw text")
    func deadLetters() async throws {
        let (input, _) = try writeInput()
        let outPath = temporaryPath("features.jsonl"), deadPath = temporaryPath("dead.jsonl")
        let output = try FileOutput(path: outPath), dead = try FileOutput(path: deadPath)
        let summary = try await FeatureReplay(plan: plan, store: InMemoryFeatureStore()).run(from: FeatureReplay.reader(for: input), to: output, deadLetters: dead)
        try output.close()
        try dead.close()
        #expect(summary.badLines == 2)
        let lines = try String(contentsOfFile: deadPath, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 2)
        let first = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        #expect(first["line"] as? Int == 11)
        #expect(first["file"] as? String == input)
        // The decoder's own classification of the line, as the Kafka dead-letter header carries it.
        var kind: String?
        do throws(EventDecodingError) { _ = try EventDecoder().decode(#"{"payment_id": "broken", "amount_minor": "#) } catch { kind = error.kind.rawValue }
        #expect(kind != nil && first["kind"] as? String == kind)
        #expect(first["raw"] as? String == #"{"payment_id": "broken", "amount_minor": "#)
        #expect((first["error"] as? String)?.isEmpty == false)
    }
}
