import Features
import Foundation
import FraudCore
import Rules

/// `waqiti-bench rules [--rules PATH] [--events N] [--runs N]`
///
/// 1. Evaluation of rules/default.rules on events whose features are already computed (the
///    engine's situation after the feature store): ns per event, batch API, one core.
/// 2. Reload of a generated 1,000-rule file: parse + check + compile, ms.
/// Fixed seeds, warm-up, median of the runs; table printed and written to bench/results/rules.md.
enum RulesBench {
    static let rulesOption: BenchOption<String> = .text("--rules", "PATH", default: "rules/default.rules", help: "the rules file to evaluate")
    static let eventsOption: BenchOption<Int> = .integer("--events", default: 20_000, help: "random events (seed 42) with random feature values")
    static let runsOption: BenchOption<Int> = .runs(default: 9)

    static let suite = BenchSuite(summary: """
        The rules DSL: evaluation and reload.
        Evaluation of a rules file on events whose features are computed (batch API and one call per \
        event), and reload of a generated 1,000-rule file; writes bench/results/rules.md.
        """, options: [rulesOption, eventsOption, runsOption]) { arguments in
        let rulesPath = arguments[rulesOption], eventCount = arguments[eventsOption], runs = arguments[runsOption]
        let ruleSet = try RuleSetLoader(rulesPath: rulesPath).load()
        var random = BenchRandom(seed: 42)
        let events = (0..<eventCount).map { makeEvent($0, &random) }
        let plan = ruleSet.featurePlan
        let features = events.flatMap { _ in plan.features.map { featureValue($0, &random) } }
        // Model scores skewed low, as for mostly legitimate traffic (about 2% at 0.7 or more).
        let scores = events.map { _ in pow(Double(random.next() % 1000) / 1000, 12) }

        // Evaluation, batch API.
        var verdicts: [RuleVerdict] = []
        let batchTimes = measure(runs: runs) {
            ruleSet.evaluate(events: events, features: features, featureCount: plan.count, modelScores: scores, into: &verdicts)
        }
        let matched = verdicts.filter { !$0.reasons.isEmpty }.count
        let outcomes = Dictionary(grouping: verdicts, by: \.outcome).mapValues(\.count)
        let hits = Dictionary(grouping: verdicts.flatMap(\.reasons), by: \.rule).mapValues(\.count)
            .sorted { ($0.value, $1.key) > ($1.value, $0.key) }.prefix(6).map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        let batchNs = median(batchTimes) / Double(eventCount)

        // Evaluation, one call per event.
        var sink = 0
        let singleTimes = measure(runs: runs) {
            features.withUnsafeBufferPointer { matrix in
                for index in events.indices {
                    let row = UnsafeBufferPointer(rebasing: matrix[(index * plan.count)..<((index + 1) * plan.count)])
                    sink &+= ruleSet.evaluate(event: events[index], features: row, modelScore: scores[index]).riskPoints
                }
            }
        }
        let singleNs = median(singleTimes) / Double(eventCount)

        // Reload of a generated 1,000-rule file.
        let generated = generateRules(count: 1000)
        let source = RulesSource(path: "generated.rules", text: generated) { _ in Array("dev_1\ndev_2\n".utf8) }
        var compiled = 0
        let reloadTimes = measure(runs: runs) {
            // 1,000 rules and one threshold.
            compiled = (try? RuleSet.compile(source))?.ruleNames.count ?? -1
        }
        guard compiled == 1001 else { throw BenchError("generated rules did not compile (\(compiled))") }
        let generatedPlan = try RuleSet.compile(source).featurePlan.count

        let rows: [(String, String, String)] = [
            ("evaluate default rules, batch API", String(format: "%.0f ns/event", batchNs), "< 1000 ns/event"),
            ("evaluate default rules, one call per event", String(format: "%.0f ns/event", singleNs), "< 1000 ns/event"),
            ("reload 1,000-rule file (parse+check+compile)", String(format: "%.1f ms", median(reloadTimes) / 1e6), "< 100 ms"),
        ]
        let notes = """
        - Rule set: `\(rulesPath)` (\(ruleSet.version)), \(ruleSet.ruleNames.count) rules and thresholds, \(plan.count) feature columns.
        - \(eventCount) events (seed 42), feature values drawn at random per column; \(matched) events (\(matched * 100 / max(eventCount, 1))%) matched at least one rule; outcomes \(outcomes.sorted { $0.key < $1.key }.map { "\($0.key.rawValue) \($0.value)" }.joined(separator: ", ")); most frequent reasons: \(hits).
        - Generated file: 1,000 rules over 12 lets, 2 lists and \(generatedPlan) distinct aggregates.
        - Median of \(runs) runs after 2 warm-up runs, thread CPU time (CLOCK_THREAD_CPUTIME_ID) on one thread; load average at the start \(loadAverage()). (checksum \(sink % 10))
        """
        try writeResults(suite: "rules", title: "Rules DSL", rows: rows, notes: notes)
    }

    /// Thread CPU time in ns of each run after two warm-up runs. CPU time, not wall time: the
    /// machine is shared, and time spent descheduled is not the code's cost.
    static func measure(runs: Int, _ body: () -> Void) -> [Double] {
        for _ in 0..<2 { body() }
        return (0..<runs).map { _ in
            let start = threadCPUNanoseconds()
            body()
            return Double(threadCPUNanoseconds() - start)
        }
    }

    static func threadCPUNanoseconds() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &spec)
        return Int64(spec.tv_sec) * 1_000_000_000 + Int64(spec.tv_nsec)
    }

    static func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

    static func loadAverage() -> String {
        (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ") ?? "unknown"
    }

    static let countries = ["US", "US", "US", "GB", "DE", "BR", "JP", "NG"]
    static let mccs = ["5411", "5812", "5815", "5999", "5732", "7995", "4829", "6011"]

    fileprivate static func makeEvent(_ index: Int, _ random: inout BenchRandom) -> PaymentEvent {
        var event = PaymentEvent.placeholder
        event.paymentID = "p\(index)"
        event.occurredAt = EventTime(millisecondsSinceEpoch: 1_767_225_600_000 + Int64(index) * 37_000)
        event.accountID = "acct_\(random.next() % 5000)"
        event.cardFingerprint = "card_\(random.next() % 6000)"
        event.deviceID = "dev_\(random.next() % 7000)"
        event.ip = "10.0.\(random.next() % 256).\(random.next() % 256)"
        event.merchantID = "m_\(random.next() % 800)"
        event.mcc = mccs[Int(random.next() % UInt64(mccs.count))]
        event.amount = Money(minorUnits: Int64(random.next() % 20_000) + 500, currency: random.next() % 4 == 0 ? .eur : .usd)
        event.cardCountry = countries[Int(random.next() % UInt64(countries.count))]
        event.ipCountry = random.next() % 50 == 0 ? countries[Int(random.next() % UInt64(countries.count))] : event.cardCountry
        event.channel = Channel.allCases[Int(random.next() % 4)]
        event.type = PaymentType.allCases[Int(random.next() % 5)]
        event.beneficiaryID = event.type == .transfer ? "ben_\(random.next() % 300)" : nil
        return event
    }

    /// Plausible values: mostly quiet keys (one or two events in the window), with a 1% tail that
    /// trips velocity rules, so most events match nothing, as in production traffic.
    fileprivate static func featureValue(_ feature: FeatureSpec, _ random: inout BenchRandom) -> Double {
        let r = random.next() % 1000
        switch feature.kind {
        case .count, .distinct: return Double(r < 990 ? r % 2 + 1 : r % 12)
        case .sum, .avg, .min, .max: return Double(random.next() % 40_000) / 100
        case .secondsSinceFirst, .secondsSinceLast: return r < 10 ? 0 : Double(86_400 + random.next() % 1_000_000)
        }
    }

    /// A rules file of `count` rules in the shapes analysts write: velocity, lists, lets, money.
    static func generateRules(count: Int) -> String {
        var lines = ["version \"bench\"", "list devices = file(\"devices.txt\")", "list mccs = [\"5732\", \"5944\", \"7995\", \"6051\"]"]
        let keys = ["card_fingerprint", "account_id", "device_id", "ip"]
        let windows = ["1m", "10m", "1h", "24h"]
        for i in 0..<12 {
            lines.append("let v\(i) = count(\(keys[i % 4]), \(windows[i / 4 % 4]))")
        }
        for i in 0..<count {
            let action = ["review", "decline", "review", "allow"][i % 4]
            let condition: String = switch i % 5 {
            case 0: "v\(i % 12) >= \(i % 7 + 2) and amount < \(i % 50 + 1).00 USD"
            case 1: "sum(amount_usd, \(keys[i % 4]), \(windows[i % 4])) > \(100 + i) and mcc in @mccs"
            case 2: "distinct(ip_country, account_id, \(windows[i % 4])) >= \(i % 3 + 2) or device_id in @devices"
            case 3: "card_country != ip_country and amount_usd > \(i) and not is_missing(beneficiary_id)"
            default: "seconds_since_first(device_id) < \(i * 10) and type == \"transfer\" and merchant_id like \"m\\\\_\(i % 10)%\""
            }
            lines.append("rule r\(i): \(action) +\(i % 30) if \(condition) because \"rule \(i): {v\(i % 12)}\"")
        }
        lines.append("threshold review if risk_points >= 50")
        return lines.joined(separator: "\n")
    }
}


/// Prints the table and writes it with the machine and commit to bench/results/<suite>.md.
private func writeResults(suite: String, title: String, rows: [(String, String, String)], notes: String) throws {
    let cpu = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
        .split(separator: "\n").first { $0.hasPrefix("model name") }?
        .split(separator: ":", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "unknown CPU"
    let commit = shell("git rev-parse --short HEAD") ?? "unknown"
    var table = "| measurement | result | target |\n|---|---|---|\n"
    for row in rows { table += "| \(row.0) | \(row.1) | \(row.2) |\n" }
    let text = """
    # \(title) benchmark

    `swift run -c release waqiti-bench \(suite)` on \(cpu), \(ProcessInfo.processInfo.activeProcessorCount) cores, commit \(commit), \(ISO8601DateFormatter().string(from: Date())).

    \(table)
    \(notes)

    """
    print(text)
    try FileManager.default.createDirectory(atPath: "bench/results", withIntermediateDirectories: true)
    try text.write(toFile: "bench/results/\(suite).md", atomically: true, encoding: .utf8)
}

private func shell(_ command: String) -> String? {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = ["-c", command]
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    guard (try? process.run()) != nil else { return nil }
    process.waitUntilExit()
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    return process.terminationStatus == 0 && !output.isEmpty ? output : nil
}
