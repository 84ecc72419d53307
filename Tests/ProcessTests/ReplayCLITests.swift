import Foundation
import Kafka
import Testing
import LocalStackSupport

/// `waqiti replay`'s errors as a user meets them: the real binary, its stderr and exit status.
@Suite("waqiti replay CLI errors", .enabled(if: LocalStack.isEnabled, LocalStack.skipMessage), .temporaryFolder)
struct ReplayCLITests {
    static let event = #"{"payment_id":"p-1","occurred_at":"2026-11-01T00:00:00Z","account_id":"a-1","card_fingerprint":"c-1","device_id":"d-1","ip":"10.0.0.1","merchant_id":"m-1","mcc":"5411","amount_minor":1250,"currency":"USD","card_country":"US","ip_country":"US","channel":"ecom","type":"payment"}"#

    /// A folder holding one event and a rules file with `rules` in it.
    static func folder(_ stem: String, rules: String) throws -> (events: String, rules: String) {
        let folder = try ProcessEnvironment.temporaryDirectory(stem)
        let events = folder.appendingPathComponent("events.jsonl"), file = folder.appendingPathComponent("candidate.rules")
        try (Self.event + "\n").write(to: events, atomically: true, encoding: .utf8)
        try rules.write(to: file, atomically: true, encoding: .utf8)
        return (events.path, file.path)
    }

    @Test("a broken rules file is reported as path:line:col: message, exit 1, without the usage text")
    func brokenRulesFile() async throws {
        let (events, rules) = try Self.folder("replay-cli-broken", rules: """
        version "broken-1"
        rule one: decline if cuont(card_fingerprint, 10m) >= 5
        """)
        let result = try await WaqitiProcess.run(["replay", "--input", events, "--rules", rules, "--quiet"])
        #expect(result.status == 1, "\(result.stderr)")
        #expect(result.stderr == "Error: \(rules):2:22: unknown function 'cuont'; did you mean 'count'?\n")
        #expect(result.stdout == "")
    }

    @Test("the candidate of --compare is checked the same way before any event is replayed")
    func brokenCandidate() async throws {
        let (events, rules) = try Self.folder("replay-cli-candidate", rules: "rule two: review if amount > 500\n")
        let result = try await WaqitiProcess.run(["replay", "--input", events, "--rules", "rules/default.rules", "--compare", rules, "--quiet"])
        #expect(result.status == 1, "\(result.stderr)")
        #expect(result.stderr == "Error: \(rules):1:28: money compares only with money: give the number a currency (e.g. 500.00 USD) or use amount_usd\n")
    }

    @Test("a wrong argument is still a usage error: exit 64 with the usage")
    func usageError() async throws {
        let (events, _) = try Self.folder("replay-cli-usage", rules: "")
        let result = try await WaqitiProcess.run(["replay", "--input", events, "--rules", "rules/default.rules", "--workers", "0"])
        #expect(result.status == 64)
        #expect(result.stderr.hasPrefix("Error: --workers must be at least 1\nUsage: waqiti replay <options>\n"))
        // A cache needs a regular input file to be checked against: standard input is a usage error too.
        let cache = try await WaqitiProcess.run(["replay", "--input", "-", "--cache", events + ".wqc", "--rules", "rules/default.rules"])
        #expect(cache.status == 64)
        #expect(cache.stderr.hasPrefix("Error: --cache cannot be used with --input - (standard input): a cache is checked against the size and modification time of a regular input file\nUsage: waqiti replay <options>\n"), "\(cache.stderr)")
    }

    @Test("Kafka bounds of one kind whose end is before their start are a usage error, refused before any broker is asked (exit 64)")
    func invertedKafkaBounds() async throws {
        // No broker listens on port 9: a check that reached the broker would fail differently.
        let offsets = try await WaqitiProcess.run(["replay", "--kafka-topic", "t", "--kafka-brokers", "127.0.0.1:9", "--rules", "rules/default.rules", "--kafka-from", "3", "--kafka-to", "2"])
        #expect(offsets.status == 64)
        #expect(offsets.stderr.hasPrefix("Error: --kafka-to (offset 2) is before --kafka-from (offset 3): nothing to replay\nUsage: waqiti replay <options>\n"), "\(offsets.stderr)")
        let times = try await WaqitiProcess.run(["replay", "--kafka-topic", "t", "--kafka-brokers", "127.0.0.1:9", "--rules", "rules/default.rules", "--kafka-from", "2026-11-02T00:00:00Z", "--kafka-to", "2026-11-01T00:00:00Z"])
        #expect(times.status == 64)
        #expect(times.stderr.hasPrefix("Error: --kafka-to (2026-11-01T00:00:00.000Z) is before --kafka-from (2026-11-02T00:00:00.000Z): nothing to replay\n"), "\(times.stderr)")
    }

    /// `waqiti simulate --events N --duplicates 0.05` into a temporary folder; returns the path.
    static func simulated(_ stem: String, events: Int) async throws -> String {
        let path = try ProcessEnvironment.temporaryDirectory(stem).appendingPathComponent("events.jsonl").path
        let result = try await WaqitiProcess.run(["simulate", "--events", "\(events)", "--seed", "11", "--duplicates", "0.05", "--out", path])
        #expect(result.status == 0, "\(result.stderr)")
        return path
    }

    /// The decisions file of `waqiti replay --input events --rules rules/default.rules` with `options`.
    static func decisions(_ events: String, _ name: String, _ options: [String]) async throws -> Data {
        let out = URL(fileURLWithPath: events).deletingLastPathComponent().appendingPathComponent(name).path
        let result = try await WaqitiProcess.run(["replay", "--input", events, "--rules", "rules/default.rules", "--quiet", "--decisions-out", out] + options)
        #expect(result.status == 0, "\(result.stderr)")
        return try Data(contentsOf: URL(fileURLWithPath: out))
    }

    @Test("--dedup-capacity below two batches is refused naming both options (it crashed the engine with --workers 2)")
    func dedupCapacityBelowTwoBatches() async throws {
        let (events, _) = try Self.folder("replay-cli-dedup", rules: "")
        let result = try await WaqitiProcess.run(["replay", "--input", events, "--rules", "rules/default.rules", "--workers", "2", "--dedup-capacity", "32"])
        #expect(result.status == 64)
        #expect(result.stderr.hasPrefix("Error: --dedup-capacity 32 is below twice --batch-size 512: a redelivery within a batch or two of its first delivery must be remembered however the batches split, or the decisions would depend on --batch-size (give --dedup-capacity 1024 or more, or a smaller --batch-size)\n"), "\(result.stderr)")
        let small = try await WaqitiProcess.run(["replay", "--input", events, "--rules", "rules/default.rules", "--batch-size", "5", "--dedup-capacity", "9"])
        #expect(small.status == 64)
        #expect(small.stderr.hasPrefix("Error: --dedup-capacity 9 is below twice --batch-size 5"), "\(small.stderr)")
    }

    @Test("at the smallest --dedup-capacity allowed, --workers 2 decides redeliveries as one thread does; --batch-size changes nothing at the default capacity")
    func dedupCapacityAtTheMinimum() async throws {
        let events = try await Self.simulated("replay-cli-dedup-min", events: 3_000)
        let one = try await Self.decisions(events, "one.jsonl", ["--batch-size", "5", "--dedup-capacity", "10"])
        let two = try await Self.decisions(events, "two.jsonl", ["--batch-size", "5", "--dedup-capacity", "10", "--workers", "2"])
        // One decision per input record (the 5% redeliveries included).
        let records = try Data(contentsOf: URL(fileURLWithPath: events)).split(separator: 0x0A).count
        #expect(one.split(separator: 0x0A).count == records)
        #expect(one == two)
        let small = try await Self.decisions(events, "small-batches.jsonl", ["--batch-size", "5"])
        let large = try await Self.decisions(events, "default-batches.jsonl", [])
        #expect(small == large)
    }

    /// `waqiti replay --kafka-from 1000` on a topic of 50 records stalled 30 s and failed ("Kafka
    /// replay stalled"): a partition read from past its end never reports its end.
    @Test("--kafka-from past every partition's end replays nothing and exits 0 at once; --kafka-to before --kafka-from is refused", .timeLimit(.minutes(2)))
    func kafkaFromPastTheEnd() async throws {
        let (brokers, topic) = try await Self.topic("replay-cli-past-end", partitions: 3) { topic in
            (0..<50).map { index in
                KafkaProducerMessage(topic: topic, key: Array("a\(index % 7)".utf8), value: Array(Self.event.replacingOccurrences(of: #""p-1""#, with: #""p-\#(index)""#).utf8))
            }
        }
        let folder = try ProcessEnvironment.temporaryDirectory("replay-cli-kafka")
        func replay(_ bounds: [String]) async throws -> (result: CommandResult, decisions: Int) {
            let out = folder.appendingPathComponent("decisions-\(bounds.joined(separator: "-")).jsonl").path
            // Under the 30 s a stall takes to be reported: a regression fails, it does not pass late.
            let result = try await WaqitiProcess.run(["replay", "--kafka-topic", topic, "--kafka-brokers", brokers, "--rules", "rules/default.rules", "--quiet", "--decisions-out", out] + bounds, timeout: .seconds(20))
            let decisions = (try? String(contentsOfFile: out, encoding: .utf8))?.split(separator: "\n").count ?? 0
            return (result, decisions)
        }
        let past = try await replay(["--kafka-from", "1000"])
        #expect(past.result.status == 0, "\(past.result.stderr)")
        #expect(past.decisions == 0)
        let all = try await replay(["--kafka-from", "0"])
        #expect(all.result.status == 0, "\(all.result.stderr)")
        #expect(all.decisions == 50)
        let inverted = try await replay(["--kafka-from", "3", "--kafka-to", "2"])
        // A usage error, refused before the broker is asked anything (64, as for every other bad option).
        #expect(inverted.result.status == 64)
        #expect(inverted.result.stderr.hasPrefix("Error: --kafka-to (offset 2) is before --kafka-from (offset 3): nothing to replay\n"), "\(inverted.result.stderr)")
    }

    /// `serve` dead-letters an event that gives a decided payment_id to another payment
    /// (`payment_id_reused`); the replay answered it with the first payment's decision and exit 0.
    @Test("a record reusing a decided payment_id gets no decision (nor a candidate one with --compare): file:line: reason and exit 1, or a dead letter with its kind and event; from Kafka named topic[partition]:offset", .timeLimit(.minutes(2)))
    func reusedPaymentID() async throws {
        let second = Self.event.replacingOccurrences(of: #""p-1""#, with: #""p-2""#)
        let reused = Self.event.replacingOccurrences(of: #""amount_minor":1250"#, with: #""amount_minor":99900"#)
        let redelivered = Self.event
        let folder = try ProcessEnvironment.temporaryDirectory("replay-cli-reused")
        let events = folder.appendingPathComponent("events.jsonl").path
        try ([Self.event, second, reused, redelivered].joined(separator: "\n") + "\n").write(toFile: events, atomically: true, encoding: .utf8)
        let explanation = #"payment_id "p-1" was already decided for another event (event_time 2026-11-01T00:00:00.000Z); a payment_id names one payment: send this payment under a new payment_id"#
        let decisions = folder.appendingPathComponent("decisions.jsonl").path
        func decidedIDs() throws -> [String] {
            try String(contentsOfFile: decisions, encoding: .utf8).split(separator: "\n").map {
                (try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any])["payment_id"] as! String
            }
        }

        let printed = try await WaqitiProcess.run(["replay", "--input", events, "--rules", "rules/default.rules", "--quiet", "--decisions-out", decisions])
        #expect(printed.status == 1)
        #expect(printed.stderr == "\(events):3: \(explanation)\n", "\(printed.stderr)")
        #expect(printed.stdout.contains("1 of them another payment under a payment_id already decided (reused id): not decided"), "\(printed.stdout)")
        // The redelivery (line 4, the same event again) keeps its line and the first decision.
        #expect(try decidedIDs() == ["p-1", "p-2", "p-1"])

        let deadLetters = folder.appendingPathComponent("dead-letters.jsonl").path
        let kept = try await WaqitiProcess.run(["replay", "--input", events, "--rules", "rules/default.rules", "--quiet", "--decisions-out", decisions, "--dead-letters", deadLetters])
        #expect(kept.status == 0, "\(kept.stderr)")
        #expect(kept.stderr == "")
        let lines = try String(contentsOfFile: deadLetters, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 1)
        let letter = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as! [String: Any]
        #expect(letter["file"] as? String == events)
        #expect(letter["line"] as? Int == 3)
        #expect(letter["kind"] as? String == "payment_id_reused")
        #expect(letter["error"] as? String == explanation)
        let raw = try JSONSerialization.jsonObject(with: Data((letter["raw"] as! String).utf8)) as! [String: Any]
        #expect(raw["payment_id"] as? String == "p-1" && raw["amount_minor"] as? Int == 99900 && raw["device_id"] as? String == "d-1")
        #expect(try decidedIDs() == ["p-1", "p-2", "p-1"])

        // From standard input the record is named as a malformed line would be.
        let piped = try await WaqitiProcess.run(["replay", "--input", "-", "--rules", "rules/default.rules", "--quiet"], input: Data(contentsOf: URL(fileURLWithPath: events)))
        #expect(piped.status == 1)
        #expect(piped.stderr == "<stdin>:3: \(explanation)\n", "\(piped.stderr)")

        // Comparing: neither configuration's decisions file has a line for it, and it is reported once.
        let candidateDecisions = folder.appendingPathComponent("candidate.jsonl").path
        let compared = try await WaqitiProcess.run([
            "replay", "--input", events, "--rules", "rules/default.rules", "--compare", "rules/default.rules", "--quiet",
            "--decisions-out", decisions, "--compare-decisions-out", candidateDecisions,
        ])
        #expect(compared.status == 1)
        #expect(compared.stderr == "\(events):3: \(explanation)\n", "\(compared.stderr)")
        #expect(try decidedIDs() == ["p-1", "p-2", "p-1"])
        #expect(try Data(contentsOf: URL(fileURLWithPath: candidateDecisions)) == Data(contentsOf: URL(fileURLWithPath: decisions)))

        let (brokers, topic) = try await Self.topic("replay-cli-reused", partitions: 1) { topic in
            [Self.event, second, reused].map { KafkaProducerMessage(topic: topic, key: Array("a-1".utf8), value: Array($0.utf8)) }
        }
        let fromKafka = try await WaqitiProcess.run(
            ["replay", "--kafka-topic", topic, "--kafka-brokers", brokers, "--rules", "rules/default.rules", "--quiet", "--decisions-out", decisions, "--kafka-from", "0"],
            timeout: .seconds(20))
        #expect(fromKafka.status == 1)
        #expect(fromKafka.stderr == "\(topic)[0]:2: \(explanation)\n", "\(fromKafka.stderr)")
        #expect(try decidedIDs() == ["p-1", "p-2"])
    }

    /// With --workers 2 a batch is scored while the next one is read: its reused ids must still be
    /// reported before the next batch's malformed lines, and within a batch both kinds by line
    /// (malformed lines are known when the batch is read, reused ids once it is decided).
    @Test("malformed lines and reused payment_ids interleaved over many batches: the same dead-letter file, in input order, on one thread and with --workers 2", .timeLimit(.minutes(3)))
    func deadLettersInInputOrderAcrossWorkers() async throws {
        let simulated = try await Self.simulated("replay-cli-dead-order", events: 3_000)
        var lines = try String(contentsOfFile: simulated, encoding: .utf8).split(separator: "\n").map(String.init)
        // Every 97th position a malformed line, every 89th a line of the first hundred with its
        // amount changed (another payment under a decided id); both kinds fall into most batches.
        var expected: [(line: Int, kind: String)] = []
        var out: [String] = []
        for (index, line) in lines.enumerated() {
            out.append(line)
            if index > 100, index % 97 == 0 {
                out.append(#"{"payment_id": "broken-\#(index)", "amount_minor": }"#)
                expected.append((out.count, "malformed"))
            }
            if index > 100, index % 89 == 0 {
                let original = lines[index % 100]
                out.append(original.replacingOccurrences(of: #""amount_minor":"#, with: #""amount_minor":7"#))
                expected.append((out.count, "payment_id_reused"))
            }
        }
        lines = out
        #expect(expected.count > 50)
        let folder = URL(fileURLWithPath: simulated).deletingLastPathComponent()
        let input = folder.appendingPathComponent("interleaved.jsonl").path
        try (lines.joined(separator: "\n") + "\n").write(toFile: input, atomically: true, encoding: .utf8)

        var files: [String] = []
        for workers in ["1", "2"] {
            let deadLetters = folder.appendingPathComponent("dead-\(workers).jsonl").path
            let result = try await WaqitiProcess.run([
                "replay", "--input", input, "--rules", "rules/default.rules", "--quiet", "--workers", workers, "--batch-size", "64",
                "--dead-letters", deadLetters, "--decisions-out", folder.appendingPathComponent("decisions-\(workers).jsonl").path,
            ])
            #expect(result.status == 0, "\(result.stderr)")
            files.append(try String(contentsOfFile: deadLetters, encoding: .utf8))
        }
        #expect(files[0] == files[1])
        let letters = try files[0].split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        #expect(letters.map { $0["line"] as? Int } == expected.map(\.line))
        #expect(letters.map { ($0["kind"] as? String) == "payment_id_reused" } == expected.map { $0.kind == "payment_id_reused" })
    }
}
