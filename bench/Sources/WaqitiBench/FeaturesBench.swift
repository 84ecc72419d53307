import Features
import FraudCore
import Redis
import Simulation

// Suite `features`: the velocity-feature stores.
//   swift run -c release waqiti-bench features [--events N] [--redis-events N] [--runs R] [--redis URL] [--python PATH]
// In-memory store on one core (one caller thread), per aggregate kind, memory per in-window event,
// the Redis store against a local Redis (with redis-benchmark -P 32 as the ceiling), and the
// Python reference (bench/reference/features.py) on the same file and features.

enum FeaturesBench {
    /// The six features of the headline run; all on amount_minor so the Python reference needs no rates.
    static let sixFeatures = [
        "count(card_fingerprint, 10m)", "sum(amount_minor, card_fingerprint, 1h)", "avg(amount_minor, account_id, 1h)",
        "max(amount_minor, account_id, 24h)", "distinct(ip, account_id, 1h)", "seconds_since_last(device_id)",
    ]
    static let fourRedisFeatures = [
        "count(card_fingerprint, 10m)", "sum(amount_minor, card_fingerprint, 1h)", "distinct(ip, account_id, 1h)", "max(amount_usd, account_id, 24h)",
    ]
    static let perKind: [(String, String)] = [
        ("count", "count(card_fingerprint, 1h)"), ("sum", "sum(amount_minor, card_fingerprint, 1h)"),
        ("avg", "avg(amount_usd, card_fingerprint, 1h)"), ("min", "min(amount_minor, card_fingerprint, 1h)"),
        ("max", "max(amount_minor, card_fingerprint, 1h)"), ("distinct", "distinct(ip, card_fingerprint, 1h)"),
        ("seconds_since_last", "seconds_since_last(card_fingerprint)"),
    ]

    static let suite: BenchSuite = { arguments in
        var events = 1_000_000, redisEvents = 200_000, runs = 3
        var redisURL = getenv("WAQITI_REDIS_URL").map { String(cString: $0) }
        var python = "python3"
        var i = 0
        while i + 1 < arguments.count {
            switch arguments[i] {
            case "--events": events = Int(arguments[i + 1]) ?? events
            case "--redis-events": redisEvents = Int(arguments[i + 1]) ?? redisEvents
            case "--runs": runs = max(1, Int(arguments[i + 1]) ?? runs)
            case "--redis": redisURL = arguments[i + 1]
            case "--python": python = arguments[i + 1]
            default: break
            }
            i += 2
        }
        // 200 events/s of event time: a card sees a few events per hour, an hour window holds ~720k events store-wide.
        let configuration = SimulationConfiguration(events: events, seed: 42, eventsPerSecond: 200, disorder: .seconds(30), duplicateRate: 0.01)
        let stream = Array(try SimulatedDelivery(configuration))
        let batches = stride(from: 0, to: stream.count, by: 512).map { Array(stream[$0..<min(stream.count, $0 + 512)]) }
        var rows: [[String]] = []
        var notes: [String] = []

        func plan(_ expressions: [String]) throws -> FeaturePlan { FeaturePlan(try expressions.map { try FeatureSpec(parsing: $0) }) }

        func timeMemory(_ plan: FeaturePlan) -> (seconds: [Double], checksum: Double) {
            var checksum = 0.0
            let seconds = measure(runs: runs) {
                let store = InMemoryFeatureStore(configuration: .init(shardCount: 16))
                var out: [Double] = []
                var sum = 0.0
                for batch in batches {
                    _ = store.processSync(batch, plan: plan, mode: .update, into: &out)
                    for v in out where !v.isNaN { sum += v }
                }
                checksum = sum
            }
            return (seconds, checksum)
        }

        let six = try plan(sixFeatures)
        let (sixSeconds, swiftChecksum) = timeMemory(six)
        rows.append(row("memory, 6 features", stream.count, six.count, sixSeconds))
        for (kind, expression) in perKind {
            rows.append(row("memory, 1 × \(kind)", stream.count, 1, timeMemory(try plan([expression])).seconds))
        }

        // Bytes per in-window event: resident-set growth of a fresh store holding the windows,
        // divided by the events it holds; and the entry buffers alone (capacity × stride).
        for expressions in [["count(card_fingerprint, 1h)"], ["count(card_fingerprint, 1h)", "sum(amount_minor, card_fingerprint, 1h)"]] {
            let p = try plan(expressions)
            let before = residentBytes()
            let store = InMemoryFeatureStore(configuration: .init(shardCount: 16))
            var out: [Double] = []
            for batch in batches { _ = store.processSync(batch, plan: p, mode: .update, into: &out) }
            out = []
            let heap = residentBytes() - before
            let stats = store.statistics()
            notes.append("Memory, \(expressions.joined(separator: " + ")): \(stats.entries) events held in \(stats.keys) keys; heap \(format(Double(heap) / Double(max(stats.entries, 1)))) bytes per held event (resident-set growth while filling a fresh store, from /proc/self/statm: entry buffers, key strings, dictionaries, caches, allocator slack); entry buffers alone \(format(Double(stats.entryBytes) / Double(max(stats.entries, 1)))) bytes per event.")
            withExtendedLifetime(store) {}
        }

        if let redisURL {
            let redisStream = Array(stream.prefix(redisEvents))
            let redisBatches = stride(from: 0, to: redisStream.count, by: 512).map { Array(redisStream[$0..<min(redisStream.count, $0 + 512)]) }
            let four = try plan(fourRedisFeatures)
            let redisConfiguration = try RedisConfiguration(url: redisURL)
            let seconds = try measureThrowing(runs: runs) { run in
                let store = RedisFeatureStore(configuration: redisConfiguration, keyPrefix: "waqiti-bench:\(getpid()):\(run):")
                var out: [Double] = []
                for batch in redisBatches { _ = try store.processSync(batch, plan: four, mode: .update, into: &out) }
            }
            rows.append(row("redis, 4 features", redisStream.count, four.count, seconds))
            let median = Double(redisStream.count) / seconds[seconds.count / 2]
            let host = redisConfiguration.host, port = redisConfiguration.port
            let benchmark = shell("redis-benchmark -h \(host) -p \(port) -P 32 -n 2000000 -t set -q 2>/dev/null | tr '\\r' '\\n' | grep -o 'SET: [0-9.]*' | tail -1 | cut -d' ' -f2")
            if let ceiling = Double(benchmark) {
                notes.append("Redis ceiling: `redis-benchmark -P 32 -t set` = \(Int(ceiling)) SET/s; the store reaches \(format(median / ceiling * 100))% of it in events/s (each event is one script step touching 2 keys, with reads).")
            }
            _ = shell("redis-cli -h \(host) -p \(port) --scan --pattern 'waqiti-bench:\(getpid()):*' | xargs -r -n 500 redis-cli -h \(host) -p \(port) del > /dev/null")
        } else {
            notes.append("Redis rows skipped: no --redis URL and no WAQITI_REDIS_URL.")
        }

        // Python reference: same file, same features, same semantics; its checksum must equal ours.
        let path = "/tmp/waqiti-bench-features-\(getpid()).jsonl"
        var file: [UInt8] = []
        let encoder = EventEncoder()
        for event in stream {
            encoder.append(event, to: &file)
            file.append(UInt8(ascii: "\n"))
        }
        let output = try FileOutput(path: path)
        try output.write(file)
        try output.close()
        defer { unlink(path) }
        let pyOutput = shell("\(python) bench/reference/features.py \(path) 2>&1")
        let fields = pyOutput.split(separator: " ")
        if fields.count >= 2, let pySeconds = Double(fields[0]), let pyChecksum = Double(fields[1]) {
            rows.append(row("python reference, 6 features", stream.count, six.count, [pySeconds]))
            let ratio = pySeconds / sixSeconds[sixSeconds.count / 2]
            notes.append("Python reference (bench/reference/features.py, deque per key, one run): \(format(pySeconds)) s; the in-memory store is \(format(ratio))× faster. Checksums (sum of all non-missing values): Swift \(swiftChecksum), Python \(pyChecksum) — \(swiftChecksum == pyChecksum ? "identical" : "DIFFERENT").")
        } else {
            notes.append("Python reference failed: \(pyOutput)")
        }
        try writeReport(arguments: arguments, runs: runs, events: stream.count, rows: rows, notes: notes)
    }

    static func measure(runs: Int, _ body: () -> Void) -> [Double] {
        body()
        let clock = ContinuousClock()
        return (0..<runs).map { _ in
            let start = clock.now
            body()
            return seconds(clock.now - start)
        }.sorted()
    }

    static func measureThrowing(runs: Int, _ body: (Int) throws -> Void) throws -> [Double] {
        try body(-1)
        let clock = ContinuousClock()
        var result: [Double] = []
        for run in 0..<runs {
            let start = clock.now
            try body(run)
            result.append(seconds(clock.now - start))
        }
        return result.sorted()
    }

    /// Resident set size in bytes (/proc/self/statm, second field, in pages).
    static func residentBytes() -> Int {
        guard let file = fopen("/proc/self/statm", "r") else { return 0 }
        defer { fclose(file) }
        var size = 0, resident = 0
        guard fscanfTwo(file, &size, &resident) else { return 0 }
        return resident * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    private static func fscanfTwo(_ file: UnsafeMutablePointer<FILE>, _ a: inout Int, _ b: inout Int) -> Bool {
        var buffer = [CChar](repeating: 0, count: 256)
        guard fgets(&buffer, 256, file) != nil else { return false }
        let parts = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self).split(separator: " ")
        guard parts.count >= 2, let x = Int(parts[0]), let y = Int(parts[1]) else { return false }
        a = x
        b = y
        return true
    }

    static func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }

    static func row(_ name: String, _ events: Int, _ features: Int, _ seconds: [Double]) -> [String] {
        let median = seconds[seconds.count / 2]
        return [name, String(events), String(features), format(median * 1000), format(Double(events) / median),
                format(Double(events * features) / median)]
    }

    static func format(_ value: Double) -> String {
        if value >= 1000 { return String(Int(value.rounded())) }
        return String((value * 100).rounded() / 100)
    }

    static func writeReport(arguments: [String], runs: Int, events: Int, rows: [[String]], notes: [String]) throws {
        let header = ["measurement", "events", "features", "median ms", "events/s", "feature updates+reads/s"]
        var table = "| " + header.joined(separator: " | ") + " |\n|" + String(repeating: "---|", count: header.count) + "\n"
        for row in rows { table += "| " + row.joined(separator: " | ") + " |\n" }
        print(table)
        for note in notes { print(note) }
        var text = "# Benchmark: features\n\n"
        text += "- Command: `\((["swift run -c release waqiti-bench features"] + arguments).joined(separator: " "))` (one warm-up, then \(runs) timed runs; median)\n"
        text += "- Input: \(events) simulated events (seed 42, 200 events/s of event time, 30 s disorder, 1% redeliveries), batches of 512, one caller thread\n"
        text += "- Machine: \(shell("uname -srm")), \(shell("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'")), \(shell("nproc")) cores shared with other builds (load: \(shell("cut -d' ' -f1-3 /proc/loadavg")))\n"
        text += "- Commit: \(shell("git rev-parse --short HEAD"))\n- Date: \(shell("date -u +%Y-%m-%dT%H:%M:%SZ"))\n\n"
        text += table + "\n" + notes.map { "- \($0)" }.joined(separator: "\n") + "\n"
        let output = try FileOutput(path: "bench/results/features.md")
        try output.write(Array(text.utf8))
        try output.close()
    }

    static func shell(_ command: String) -> String {
        guard let pipe = popen(command, "r") else { return "?" }
        var output = ""
        var buffer = [CChar](repeating: 0, count: 4096)
        while fgets(&buffer, Int32(buffer.count), pipe) != nil {
            output += String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        pclose(pipe)
        while output.last == "\n" { output.removeLast() }
        return output
    }
}
