import Foundation
import Glibc
import Kafka
import Testing
import LocalStackSupport

/// `waqiti replay` never destroys what it reads, refuses what it would ignore or crash on before
/// its first event (exit 64 with the replay's usage), and names a missing Kafka topic or
/// partition at once. The real binary, its exit status, stderr and the files it leaves.
@Suite("waqiti replay refuses unsafe and ignored options", .enabled(if: LocalStack.isEnabled, LocalStack.skipMessage), .temporaryFolder)
struct ReplayCommandSafetyTests {
    static let usage = "\nUsage: waqiti replay <options>\n"

    /// Three events, one JSON line each.
    static let events = (1...3).map { ReplayCLITests.event.replacingOccurrences(of: #""p-1""#, with: #""p-\#($0)""#) }.joined(separator: "\n") + "\n"

    /// A fresh folder holding `events.jsonl`; returns the folder and the file's path.
    static func folder(_ stem: String) throws -> (folder: URL, events: String) {
        let folder = try ProcessEnvironment.temporaryDirectory(stem)
        let events = folder.appendingPathComponent("events.jsonl").path
        try Self.events.write(toFile: events, atomically: true, encoding: .utf8)
        return (folder, events)
    }

    static func replay(_ options: [String], environment: [String: String] = [:], timeout: Duration = .seconds(60)) async throws -> CommandResult {
        try await WaqitiProcess.run(["replay", "--rules", "rules/default.rules", "--model", "models/default.json", "--quiet"] + options, environment: environment, timeout: timeout)
    }

    static func files(in folder: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
    }

    // MARK: - Outputs that are inputs, or each other

    @Test("an output naming the input, directly or through a hard or symbolic link, is refused (64) and the input keeps its bytes")
    func outputIsTheInput() async throws {
        let (folder, events) = try Self.folder("safety-input")
        let hardLink = folder.appendingPathComponent("hard.jsonl").path, symbolicLink = folder.appendingPathComponent("soft.jsonl").path
        try FileManager.default.linkItem(atPath: events, toPath: hardLink)
        try FileManager.default.createSymbolicLink(atPath: symbolicLink, withDestinationPath: events)
        let cases: [(option: String, path: String)] = [
            ("--decisions-out", events), ("--report", events), ("--summary-json", hardLink), ("--dead-letters", symbolicLink),
            ("--features-out", folder.appendingPathComponent("./../\(folder.lastPathComponent)/events.jsonl").path),
        ]
        for (option, path) in cases {
            let result = try await Self.replay(["--input", events, option, path])
            #expect(result.status == 64, "\(option): \(result.stderr)")
            #expect(result.stderr.hasPrefix("Error: \(option) \"\(path)\" is the same file as --input \"\(events)\": writing it would destroy what the replay reads; name another file for \(option)" + Self.usage), "\(result.stderr)")
            #expect(result.stdout == "")
            #expect(try String(contentsOfFile: events, encoding: .utf8) == Self.events)
        }
        // A rules file is an input too: a copy, so a binary without the check destroys only the copy.
        let rules = folder.appendingPathComponent("copy.rules").path
        try FileManager.default.copyItem(atPath: "\(ProcessEnvironment.packageRoot.path)/rules/default.rules", toPath: rules)
        let rulesBytes = try Data(contentsOf: URL(fileURLWithPath: rules))
        let overRules = try await WaqitiProcess.run(["replay", "--input", events, "--rules", rules, "--quiet", "--decisions-out", rules])
        #expect(overRules.status == 64)
        #expect(overRules.stderr.hasPrefix("Error: --decisions-out \"\(rules)\" is the same file as --rules \"\(rules)\": writing it would destroy what the replay reads; name another file for --decisions-out" + Self.usage), "\(overRules.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: rules)) == rulesBytes)
        #expect(try Self.files(in: folder) == ["copy.rules", "events.jsonl", "hard.jsonl", "soft.jsonl"])
    }

    @Test("an output naming a list file or the rates file a rules file reads is refused (64) and that file keeps its bytes")
    func outputIsARuleSetFile() async throws {
        let (folder, events) = try Self.folder("safety-rule-files")
        // Copies of rules/ (rules, lists, rates), so a binary without the check destroys only copies.
        let baseline = folder.appendingPathComponent("baseline"), candidate = folder.appendingPathComponent("candidate")
        for copy in [baseline, candidate] {
            try FileManager.default.copyItem(atPath: "\(ProcessEnvironment.packageRoot.path)/rules", toPath: copy.path)
        }
        let rules = baseline.appendingPathComponent("default.rules").path, candidateRules = candidate.appendingPathComponent("default.rules").path
        let list = baseline.appendingPathComponent("lists/blocked_ips.txt").path
        let rates = baseline.appendingPathComponent("rates.json").path, candidateRates = candidate.appendingPathComponent("rates.json").path
        let guarded = [list, rates, candidateRates]
        let before = try guarded.map { try Data(contentsOf: URL(fileURLWithPath: $0)) }
        let cases: [(output: String, path: String, named: String, reader: String, rulesFile: String)] = [
            ("--decisions-out", list, list, "--rules", rules),
            ("--report", rates, rates, "--rules", rules),
            // Only the candidate reads this one, reached through `..`.
            ("--compare-decisions-out", candidate.appendingPathComponent("lists/../rates.json").path, candidateRates, "--compare", candidateRules),
        ]
        for (output, path, named, reader, rulesFile) in cases {
            let result = try await WaqitiProcess.run(["replay", "--input", events, "--rules", rules, "--compare", candidateRules, "--quiet", output, path])
            #expect(result.status == 64, "\(output): \(result.stderr)")
            #expect(result.stderr.hasPrefix("Error: \(output) \"\(path)\" is the same file as \"\(named)\", which \(reader) \"\(rulesFile)\" reads: writing it would destroy what the replay reads; name another file for \(output)" + Self.usage), "\(result.stderr)")
        }
        #expect(try guarded.map { try Data(contentsOf: URL(fileURLWithPath: $0)) } == before)
    }

    @Test("two outputs on one file (or both on standard output) are refused before either is created")
    func outputsCollide() async throws {
        let (folder, events) = try Self.folder("safety-outputs")
        let same = folder.appendingPathComponent("decisions.jsonl").path
        let both = try await Self.replay(["--input", events, "--compare", "rules/default.rules", "--decisions-out", same, "--compare-decisions-out", same])
        #expect(both.status == 64)
        #expect(both.stderr.hasPrefix("Error: --decisions-out and --compare-decisions-out both write to \"\(same)\"; give each output its own file" + Self.usage), "\(both.stderr)")
        let stdout = try await Self.replay(["--input", events, "--decisions-out", "-", "--report", "-"])
        #expect(stdout.status == 64)
        #expect(stdout.stderr.hasPrefix("Error: --decisions-out and --report both write to standard output (-), where their lines would interleave; give each output its own file" + Self.usage), "\(stdout.stderr)")
        #expect(try Self.files(in: folder) == ["events.jsonl"])
    }

    @Test("a --cache is written beside the input without touching any other file (its unfinished copy is a new hidden file); --decisions-out - still works")
    func cacheNeverWritesOverAnotherFile() async throws {
        let (folder, events) = try Self.folder("safety-cache")
        // The name the cache's unfinished copy had before it was a hidden temporary file.
        let input = folder.appendingPathComponent("events.wqc.partial").path
        try FileManager.default.moveItem(atPath: events, toPath: input)
        let cache = folder.appendingPathComponent("events.wqc").path
        let result = try await Self.replay(["--input", input, "--cache", cache])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try String(contentsOfFile: input, encoding: .utf8) == Self.events)
        #expect(try Self.files(in: folder) == ["events.wqc", "events.wqc.partial"])
        let cached = try await Self.replay(["--input", input, "--cache", cache])
        #expect(cached.status == 0, "\(cached.stderr)")
        #expect(cached.stdout == result.stdout)
        // Standard output as the one output: three decisions, then the summary.
        let piped = try await Self.replay(["--input", input, "--decisions-out", "-"])
        #expect(piped.status == 0, "\(piped.stderr)")
        let lines = piped.stdout.split(separator: "\n")
        #expect(lines.count > 3)
        #expect(lines.prefix(3).map { String($0.split(separator: #""payment_id":""#)[1].prefix { $0 != "\"" }) } == ["p-1", "p-2", "p-3"])
        #expect(lines.dropFirst(3).first?.hasPrefix("events     3  ") == true, "\(piped.stdout)")
    }

    // MARK: - Outputs checked and replaced atomically

    @Test("an output in a missing folder, or naming a folder, is refused (64) before anything is written")
    func outputCannotBeCreated() async throws {
        let (folder, events) = try Self.folder("safety-folder")
        let decisions = folder.appendingPathComponent("decisions.jsonl").path
        let missing = folder.appendingPathComponent("no-such-folder/report.html").path
        let report = try await Self.replay(["--input", events, "--decisions-out", decisions, "--report", missing])
        #expect(report.status == 64)
        #expect(report.stderr.hasPrefix("Error: --report \"\(missing)\": the folder \"\(folder.path)/no-such-folder\" does not exist; create it first or name a file in an existing folder" + Self.usage), "\(report.stderr)")
        let summary = try await Self.replay(["--input", events, "--decisions-out", decisions, "--summary-json", folder.path])
        #expect(summary.status == 64)
        #expect(summary.stderr.hasPrefix("Error: --summary-json \"\(folder.path)\" is a folder; name a file (e.g. \(folder.path)/summary.json)" + Self.usage), "\(summary.stderr)")
        #expect(report.stdout == "" && summary.stdout == "")
        #expect(try Self.files(in: folder) == ["events.jsonl"])
    }

    @Test("a replay that fails leaves the previous outputs as they were and no temporary file; one that succeeds replaces them keeping their permissions")
    func outputsReplacedAtomically() async throws {
        let (folder, events) = try Self.folder("safety-atomic")
        let decisions = folder.appendingPathComponent("decisions.jsonl").path, summary = folder.appendingPathComponent("summary.json").path
        try "yesterday's decisions\n".write(toFile: decisions, atomically: true, encoding: .utf8)
        try "{}\n".write(toFile: summary, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: decisions)
        // A folder as --input opens, then fails on its first read: after the outputs were created.
        let unreadable = folder.appendingPathComponent("not-a-file").path
        try FileManager.default.createDirectory(atPath: unreadable, withIntermediateDirectories: false)
        let failed = try await Self.replay(["--input", unreadable, "--decisions-out", decisions, "--summary-json", summary])
        #expect(failed.status == 1, "\(failed.stderr)")
        #expect(failed.stderr == "Error: cannot read \"\(unreadable)\": Is a directory\n")
        #expect(try String(contentsOfFile: decisions, encoding: .utf8) == "yesterday's decisions\n")
        #expect(try String(contentsOfFile: summary, encoding: .utf8) == "{}\n")
        #expect(try Self.files(in: folder) == ["decisions.jsonl", "events.jsonl", "not-a-file", "summary.json"])

        let succeeded = try await Self.replay(["--input", events, "--decisions-out", decisions, "--summary-json", summary])
        #expect(succeeded.status == 0, "\(succeeded.stderr)")
        #expect(try String(contentsOfFile: decisions, encoding: .utf8).split(separator: "\n").count == 3)
        #expect(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: summary))) is [String: Any])
        #expect(try FileManager.default.attributesOfItem(atPath: decisions)[.posixPermissions] as? Int == 0o600)
        #expect(try Self.files(in: folder) == ["decisions.jsonl", "events.jsonl", "not-a-file", "summary.json"])
    }

    @Test("a replay stopped by SIGINT or SIGTERM removes its unfinished outputs, keeps the files they would have replaced, and ends by the signal", .timeLimit(.minutes(2)))
    func interruptedReplayCleansUp() async throws {
        for (signal, status, name) in [(SIGINT, Int32(130), "Interrupt"), (SIGTERM, Int32(143), "Terminated")] {
            let folder = try ProcessEnvironment.temporaryDirectory("safety-interrupt")
            // A FIFO as --input: the replay decides what was written and then waits for more, for
            // as long as the test holds the writing end open.
            let fifo = folder.appendingPathComponent("events.fifo").path
            #expect(mkfifo(fifo, 0o600) == 0)
            let writer = open(fifo, O_RDWR)
            #expect(writer >= 0)
            defer { close(writer) }
            _ = Self.events.utf8CString.withUnsafeBufferPointer { write(writer, $0.baseAddress, $0.count - 1) }
            let decisions = folder.appendingPathComponent("decisions.jsonl").path
            try "yesterday's decisions\n".write(toFile: decisions, atomically: true, encoding: .utf8)
            let replay = try WaqitiProcess(["replay", "--rules", "rules/default.rules", "--quiet", "--input", fifo, "--batch-size", "1",
                                            "--decisions-out", decisions, "--summary-json", folder.appendingPathComponent("summary.json").path,
                                            "--report", folder.appendingPathComponent("report.html").path], name: "replay-interrupted")
            // Three unfinished outputs: the replay is past its first events and waiting for more.
            let deadline = ContinuousClock.now + .seconds(60)
            while try Self.files(in: folder).filter({ $0.hasSuffix(".tmp") }).count < 3 {
                #expect(replay.isRunning, "\(replay.stderrTail())")
                guard replay.isRunning, ContinuousClock.now < deadline else { return }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(try Self.files(in: folder).contains { $0.hasPrefix(".decisions.jsonl.\(replay.pid)-") })
            replay.signal(signal)
            #expect(try await replay.waitForExit(timeout: .seconds(30)) == status, "\(replay.stderrTail())")
            #expect(replay.standardError().hasSuffix("waqiti replay stopped by \(name): 3 unfinished output file(s) removed; the files it would have replaced are unchanged\n"), "\(replay.stderrTail())")
            #expect(try Self.files(in: folder) == ["decisions.jsonl", "events.fifo"])
            #expect(try String(contentsOfFile: decisions, encoding: .utf8) == "yesterday's decisions\n")
        }
    }

    // MARK: - Numbers that crashed

    @Test("--dedup-capacity, --batch-size and --workers above their limits are usage errors (they crashed or allocated gigabytes)")
    func numericLimits() async throws {
        let (_, events) = try Self.folder("safety-numbers")
        let cases: [([String], String)] = [
            (["--dedup-capacity", "3000000000"], "--dedup-capacity 3000000000 is above the most payment ids remembered, 16777216 (each keeps a whole decision in memory); give 16777216 or less"),
            // The reviewer's 20.8 GB allocation: the capacity is checked first (its option group validates first).
            (["--batch-size", "100000000", "--dedup-capacity", "200000000"], "--dedup-capacity 200000000 is above the most payment ids remembered, 16777216 (each keeps a whole decision in memory); give 16777216 or less"),
            (["--batch-size", "2000000000", "--dedup-capacity", "5"], "--batch-size 2000000000 is above the largest batch, 1048576 events: a batch is held in memory at once; give 1048576 or less"),
            (["--batch-size", "1048576", "--dedup-capacity", "5"], "--dedup-capacity 5 is below twice --batch-size 1048576: a redelivery within a batch or two of its first delivery must be remembered however the batches split, or the decisions would depend on --batch-size (give --dedup-capacity 2097152 or more, or a smaller --batch-size)"),
            (["--workers", "65"], "--workers 65 is above 64; give 64 or less (2 to 4 is where the replay gains)"),
        ]
        for (options, message) in cases {
            let result = try await Self.replay(["--input", events] + options)
            #expect(result.status == 64, "\(options): \(result.stderr)")
            #expect(result.stderr.hasPrefix("Error: \(message)" + Self.usage), "\(result.stderr)")
        }
        // The values the messages suggest are accepted.
        let largest = try await Self.replay(["--input", events, "--batch-size", "1048576", "--dedup-capacity", "2097152", "--workers", "64"])
        #expect(largest.status == 0, "\(largest.stderr)")
        #expect(largest.stdout.hasPrefix("events     3  "), "\(largest.stdout)")
    }

    // MARK: - Options that were silently ignored

    @Test("options that apply to another source or mode are refused with the replay's usage, not ignored")
    func ignoredOptions() async throws {
        let (_, events) = try Self.folder("safety-ignored")
        let cases: [([String], [String: String], String)] = [
            (["--input", events, "--kafka-topic", "t", "--kafka-brokers", "127.0.0.1:9"], [:], "--input \"\(events)\" and --kafka-topic t are two sources and a replay reads one; drop one of them"),
            (["--input", events, "--kafka-from", "0"], [:], "--kafka-from applies to a Kafka replay and would be ignored: give --kafka-topic T to replay a topic, or drop --kafka-from"),
            (["--input", events, "--kafka-brokers", "127.0.0.1:9"], [:], "--kafka-brokers applies to a Kafka replay and would be ignored: give --kafka-topic T to replay a topic, or drop --kafka-brokers"),
            (["--input", events, "--kafka-partitions", "0"], [:], "--kafka-partitions applies to a Kafka replay and would be ignored: give --kafka-topic T to replay a topic, or drop --kafka-partitions"),
            (["--input", events, "--features", "count(card_fingerprint,1h)"], [:], "--features needs --features-out FILE (where the feature rows go) and would be ignored: give --features-out, or drop --features"),
            (["--input", events, "--store", "redis", "--redis", "redis://127.0.0.1:9"], [:], "--rules replays on the in-memory windows; drop --store redis"),
            (["--input", events, "--redis", "redis://127.0.0.1:9"], [:], "--redis applies to --store redis and would be ignored: give --store redis, or drop --redis"),
            ([], [:], "give --input FILE (or - for stdin) or --kafka-topic T"),
            (["--kafka-topic", "t"], ["WAQITI_KAFKA_BROKERS": ""], "--kafka-topic needs --kafka-brokers H:P or WAQITI_KAFKA_BROKERS"),
            (["--kafka-topic", "t", "--kafka-brokers", "127.0.0.1:9", "--kafka-partitions", ""], [:], "--kafka-partitions '' names no partition; give partition numbers such as 0,1,2, or drop --kafka-partitions to replay every partition"),
            (["--kafka-topic", "t", "--kafka-brokers", "127.0.0.1:9", "--kafka-partitions", "0,1,0"], [:], "--kafka-partitions names partition 0 twice; name each once"),
            (["--kafka-topic", "t", "--kafka-brokers", "127.0.0.1:9", "--kafka-partitions", "0,x"], [:], "--kafka-partitions: 'x' is not a partition number (give numbers such as 0,1,2)"),
        ]
        for (options, environment, message) in cases {
            let result = try await Self.replay(options, environment: environment)
            #expect(result.status == 64, "\(options): \(result.stderr)")
            #expect(result.stderr.hasPrefix("Error: \(message)" + Self.usage), "\(options): \(result.stderr)")
        }
        // A mistake in --features prints the replay's usage too (it printed `Usage: waqiti <subcommand>`).
        let misspelt = try await WaqitiProcess.run(["replay", "--input", events, "--features", "cuont(card_fingerprint,1h)", "--features-out", "-"])
        #expect(misspelt.status == 64)
        #expect(misspelt.stderr.hasPrefix("Error: --features: column 1: unknown aggregate 'cuont'; did you mean 'count'?; aggregates are count, sum, avg, min, max, distinct, seconds_since_first, seconds_since_last" + Self.usage), "\(misspelt.stderr)")
        // Features only: --store redis needs its URL, checked before any file is read.
        let featuresOnly = try await WaqitiProcess.run(["replay", "--input", events, "--features", "count(card_fingerprint,1h)", "--features-out", "-", "--store", "redis"],
                                                       environment: ["WAQITI_REDIS_URL": ""])
        #expect(featuresOnly.status == 64)
        #expect(featuresOnly.stderr.hasPrefix("Error: --store redis needs --redis URL or WAQITI_REDIS_URL" + Self.usage), "\(featuresOnly.stderr)")
    }

    // MARK: - Kafka topics and partitions that do not exist

    @Test("a missing topic, or a partition the topic lacks, is named at once (it waited 30 s, or said _UNKNOWN_PARTITION)", .timeLimit(.minutes(2)))
    func missingTopicAndPartition() async throws {
        let lines = Self.events.split(separator: "\n")
        let (brokers, topic) = try await ReplayCLITests.topic("replay-safety", partitions: 3) { topic in
            lines.enumerated().map { index, line in KafkaProducerMessage(topic: topic, key: Array("a\(index)".utf8), value: Array(line.utf8), partition: Int32(index)) }
        }
        let (folder, _) = try Self.folder("safety-kafka")

        // Well under the 30 s a stall takes: a regression fails here instead of passing late.
        let started = ContinuousClock.now
        let partition = try await Self.replay(["--kafka-topic", topic, "--kafka-brokers", brokers, "--kafka-partitions", "0,7"], timeout: .seconds(20))
        #expect(partition.status == 1, "\(partition.stderr)")
        #expect(partition.stderr == "Error: --kafka-partitions names partition 7, which Kafka topic '\(topic)' does not have: its partitions are 0-2; give partitions that exist, or drop --kafka-partitions to replay every partition\n")
        #expect(ContinuousClock.now - started < .seconds(15))

        let missingTopic = topic + "-missing"
        let unknown = try await Self.replay(["--kafka-topic", missingTopic, "--kafka-brokers", brokers], timeout: .seconds(20))
        #expect(unknown.status == 1, "\(unknown.stderr)")
        #expect(unknown.stderr == "Error: Kafka topic '\(missingTopic)' does not exist on the brokers at \(brokers); check --kafka-topic (and --kafka-brokers)\n")

        // Every partition, from the topic's metadata: one record from each of the three.
        let decisions = folder.appendingPathComponent("decisions.jsonl").path
        let all = try await Self.replay(["--kafka-topic", topic, "--kafka-brokers", brokers, "--decisions-out", decisions], timeout: .seconds(20))
        #expect(all.status == 0, "\(all.stderr)")
        let ids = try String(contentsOfFile: decisions, encoding: .utf8).split(separator: "\n").map { line in
            String(line.split(separator: #""payment_id":""#)[1].prefix { $0 != "\"" })
        }
        #expect(ids.sorted() == ["p-1", "p-2", "p-3"])
    }
}

extension ReplayCLITests {
    /// A new topic of `partitions` partitions on the local broker holding `messages(topic)`;
    /// returns the brokers and the topic's name.
    static func topic(_ stem: String, partitions: Int32, messages: (String) -> [KafkaProducerMessage]) async throws -> (brokers: String, topic: String) {
        let brokers = try LocalStack.required("WAQITI_KAFKA_BROKERS")
        let client = KafkaClientConfiguration(brokers: brokers, clientID: "waqiti-replay-cli-tests")
        let topic = LocalStack.uniqueName(stem)
        #expect(try KafkaAdmin(configuration: client).createTopic(topic, partitions: partitions))
        let batch = messages(topic)
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: client))
        #expect(try await producer.send(batch).count == batch.count)
        try producer.close()
        return (brokers, topic)
    }
}
