import Allocator
import Features
import FraudCore
import Redis
import Simulation

// Suite `features`: the velocity-feature stores, all on one simulated file in one run.
//   swift run -c release waqiti-bench features [--events N] [--redis-events N] [--runs R] [--redis URL] [--python PATH]
//   [--profile "F1,F2"]  (fill only that plan `runs` times, for perf/callgrind; writes nothing)
//   [--only redis]  (only the Redis rows; they replace the Redis section of bench/results/features.md)
// 1. In-memory store on one core (one caller thread): 6 features per event, then one feature per
//    aggregate kind. 2. Heap bytes per held event per aggregate kind (jemalloc's stats.allocated).
// 3. The Redis store with 4 features per event against a local Redis, and redis-benchmark -P 32 on
//    the same server in the same run as the ceiling. 4. The Python reference
//    (bench/reference/features.py) on the same events and features; its checksum must equal ours.

enum FeaturesBench {
    /// The six features of the headline run; all on amount_minor so the Python reference needs no rates.
    static let sixFeatures = [
        "count(card_fingerprint, 10m)", "sum(amount_minor, card_fingerprint, 1h)", "avg(amount_minor, account_id, 1h)",
        "max(amount_minor, account_id, 24h)", "distinct(ip, account_id, 1h)", "seconds_since_last(device_id)",
    ]
    static let fourRedisFeatures = [
        "count(card_fingerprint, 10m)", "sum(amount_minor, card_fingerprint, 1h)", "distinct(ip, account_id, 1h)", "max(amount_usd, account_id, 24h)",
    ]
    static let perKind: [(kind: String, expression: String)] = [
        ("count", "count(card_fingerprint, 1h)"), ("sum", "sum(amount_minor, card_fingerprint, 1h)"),
        ("avg", "avg(amount_usd, card_fingerprint, 1h)"), ("min", "min(amount_minor, card_fingerprint, 1h)"),
        ("max", "max(amount_minor, card_fingerprint, 1h)"), ("distinct", "distinct(ip, card_fingerprint, 1h)"),
        ("seconds_since_last", "seconds_since_last(card_fingerprint)"),
    ]

    struct Options {
        static let events: BenchOption<Int> = .integer("--events", default: 1_000_000, help: "simulated events for the in-memory rows and the Python reference")
        static let redisEvents: BenchOption<Int> = .integer("--redis-events", default: 200_000, help: "the first events of those for the Redis rows")
        static let runs: BenchOption<Int> = .runs(default: 3)
        static let redis: BenchOption<String?> = .text("--redis", "URL", default: getenv("WAQITI_REDIS_URL").map { String(cString: $0) },
                                                       unset: "$WAQITI_REDIS_URL, else the Redis rows are skipped", help: "the Redis server of the Redis rows")
        static let python: BenchOption<String> = .text("--python", "PATH", default: "python3", help: "the Python that runs bench/reference/features.py")
        static let profile: BenchOption<String?> = .text("--profile", "\"F1,F2\"", unset: "off",
                                                         help: "fill only this plan, `--runs` times, for a profiler (perf, callgrind); writes nothing")
        static let only: BenchOption<String?> = .word("--only", from: ["redis"], unset: "every row",
                                                      help: "only the Redis rows; they replace the Redis section of bench/results/features.md")
        static let declared: [any BenchOptionDeclaration] = [events, redisEvents, runs, redis, python, profile, only]

        var events: Int, redisEvents: Int, runs: Int
        var redisURL: String?
        var python: String
        /// `--profile "F1,F2"`: fill only this plan (for a profiler), write nothing.
        var profile: String?
        /// `--only redis`: measure only the Redis store and rewrite only its section of the results.
        var onlyRedis: Bool

        init(_ arguments: BenchArguments) throws {
            events = arguments[Self.events]
            redisEvents = arguments[Self.redisEvents]
            runs = arguments[Self.runs]
            redisURL = arguments[Self.redis]
            python = arguments[Self.python]
            profile = arguments[Self.profile]
            onlyRedis = arguments[Self.only] == "redis"
            // (`--profile` runs before `--only` is looked at, so it needs no Redis.)
            if onlyRedis, redisURL == nil, profile == nil { throw BenchError("--only redis needs --redis URL or WAQITI_REDIS_URL") }
        }
    }

    static let suite = BenchSuite(summary: """
        The velocity-feature stores: in memory, Redis, and the Python reference.
        On one simulated file: the in-memory store's throughput and heap bytes per held event, the \
        Redis store against redis-benchmark on the same server, and bench/reference/features.py \
        (same checksum); writes bench/results/features.md.
        """, options: Options.declared) { arguments in
        let options = try Options(arguments)
        // 200 events/s of event time: an account sees ~40 events over the run, an hour window
        // holds ~720k events store-wide.
        let configuration = SimulationConfiguration(events: options.events, seed: 42, eventsPerSecond: 200, disorder: .seconds(30), duplicateRate: 0.01)
        let stream = Array(try SimulatedDelivery(configuration))
        let batches = chunks(stream)
        if let expressions = options.profile {
            // For a profiler (perf, callgrind): only this plan, filled `runs` times, no report written.
            let profiled = FeaturePlan(try FeatureSpec.parseList(expressions))
            for _ in 0..<options.runs { _ = fill(batches, plan: profiled) }
            return
        }
        if options.onlyRedis, let redisURL = options.redisURL {
            let section = try redisSection(stream: Array(stream.prefix(options.redisEvents)), url: redisURL, runs: options.runs)
            try writeRedisOnly(arguments: arguments.given, section: section)
            return
        }
        var sections: [String] = []

        // 1. Throughput of the in-memory store.
        let six = try plan(sixFeatures)
        var swiftChecksum = 0.0
        let sixTimings = measureTimings(runs: options.runs) {
            let (checksum, held) = fill(batches, plan: six)
            swiftChecksum = checksum
            return Int64(held)
        }
        var throughput = [throughputRow("in-memory, 6 features", stream.count, 6, sixTimings)]
        for (kind, expression) in perKind {
            let single = try plan([expression])
            throughput.append(throughputRow("in-memory, 1 × \(kind)", stream.count, 1, measureTimings(runs: options.runs) { Int64(fill(batches, plan: single).held) }))
        }

        // Python reference: same events (written as JSON Lines), same features, same semantics.
        let python = try runPython(stream, options: options)
        var pythonNote = "Python reference failed: \(python.failure ?? "?")"
        if let py = python.result {
            throughput.append(["python reference, 6 features", String(stream.count), "6", format2(py.wall * 1000), format2(py.cpu * 1000),
                               String(Int(Double(stream.count) / py.cpu)), String(Int(Double(stream.count * 6) / py.cpu)), String(Int(Double(stream.count) / py.wall))])
            let ratio = py.cpu / sixTimings.cpu[sixTimings.cpu.count / 2]
            pythonNote = "Python reference (`\(options.python) bench/reference/features.py FILE`, one sorted list per key, window recomputed per read; one run, its own timer around the processing loop only, JSON parsing excluded): the in-memory store is **\(format2(ratio))×** faster by CPU time (\(format2(py.wall / sixTimings.wall[sixTimings.wall.count / 2]))× by wall time). Checksums (sum of every non-missing feature value, event order): Swift \(swiftChecksum), Python \(py.checksum): \(swiftChecksum == py.checksum ? "identical" : "DIFFERENT")."
        }
        sections.append(table(
            ["measurement", "events", "features", "wall ms", "CPU ms", "events/s (CPU)", "feature updates+reads/s (CPU)", "events/s (wall)"], throughput))
        sections.append("Medians of \(options.runs) runs after one warm-up; CPU = the calling thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`), the fair figure on this shared machine. A feature update+read is one feature of one event: events/s × features. Batches of 512, 16 shards, one caller thread.\n\n- " + pythonNote)

        // 2. Memory per held event.
        var memory: [[String]] = []
        for (name, expressions) in memoryPlans {
            memory.append(try memoryRow(name, expressions, batches))
        }
        sections.append("### Memory per held event (in-memory store)\n\n" + table(
            ["plan", "events held", "keys", "heap bytes / held event", "entry buffers bytes / held event"], memory))
        sections.append("A fresh store is filled with all \(stream.count) events; it then holds the events within the retention of its plan (longest window + lateness = 1h05m, about 780k events; the 10m windows of the headline run hold fewer). Heap bytes = growth of the bytes the process holds in live allocations (jemalloc's `stats.allocated`, the allocator the binaries link: every allocation's usable size, size-class rounding included, allocator metadata excluded) while filling, divided by the events held: entry ring buffers, key strings, dictionaries and caches. Entry buffers = the rings' capacity × stride alone. Per-key costs (key string, dictionary slot, window object, a ring of at least 4 entries) are spread over the events each key holds (events held ÷ keys), so the heap column falls as keys get busier; the entry-buffer column is the per-event cost of the rings themselves.")

        // 3. Redis.
        if let redisURL = options.redisURL {
            sections.append(try redisBegin + redisSection(stream: Array(stream.prefix(options.redisEvents)), url: redisURL, runs: options.runs) + redisEnd)
        } else {
            sections.append(redisBegin + "Redis rows skipped: no --redis URL and no WAQITI_REDIS_URL.\n" + redisEnd)
        }
        try write(arguments: arguments.given, options: options, events: stream.count, sections: sections)
    }

    static let memoryPlans: [(String, [String])] = [
        ("count", ["count(card_fingerprint, 1h)"]),
        ("sum", ["sum(amount_minor, card_fingerprint, 1h)"]),
        ("count + sum", ["count(card_fingerprint, 1h)", "sum(amount_minor, card_fingerprint, 1h)"]),
        ("avg", ["avg(amount_minor, card_fingerprint, 1h)"]),
        ("min", ["min(amount_minor, card_fingerprint, 1h)"]),
        ("max", ["max(amount_minor, card_fingerprint, 1h)"]),
        ("distinct", ["distinct(ip, card_fingerprint, 1h)"]),
        ("count, account_id", ["count(account_id, 1h)"]),
        ("6 features (headline)", sixFeatures),
    ]

    static func plan(_ expressions: [String]) throws -> FeaturePlan { FeaturePlan(try expressions.map { try FeatureSpec(parsing: $0) }) }

    static func chunks(_ events: [PaymentEvent]) -> [[PaymentEvent]] {
        stride(from: 0, to: events.count, by: 512).map { Array(events[$0..<min(events.count, $0 + 512)]) }
    }

    /// Runs every batch through a fresh store; returns the checksum of the values and the events held.
    static func fill(_ batches: [[PaymentEvent]], plan: FeaturePlan) -> (checksum: Double, held: Int) {
        let store = InMemoryFeatureStore(configuration: .init(shardCount: 16))
        var out: [Double] = []
        var sum = 0.0
        for batch in batches {
            _ = store.processSync(batch, plan: plan, mode: .update, into: &out)
            for v in out where !v.isNaN { sum += v }
        }
        return (sum, store.statistics().entries)
    }

    static func throughputRow(_ name: String, _ events: Int, _ features: Int, _ t: Timings) -> [String] {
        let wall = t.wall[t.wall.count / 2], cpu = t.cpu[t.cpu.count / 2]
        return [name, String(events), String(features), format2(wall * 1000), format2(cpu * 1000), String(Int(Double(events) / cpu)),
                String(Int(Double(events * features) / cpu)), String(Int(Double(events) / wall))]
    }

    static func memoryRow(_ name: String, _ expressions: [String], _ batches: [[PaymentEvent]]) throws -> [String] {
        let p = try plan(expressions)
        let before = Allocator.allocatedBytes()
        let store = InMemoryFeatureStore(configuration: .init(shardCount: 16))
        var out: [Double] = []
        for batch in batches { _ = store.processSync(batch, plan: p, mode: .update, into: &out) }
        out = []
        let after = Allocator.allocatedBytes()
        let stats = store.statistics()
        let held = Double(max(stats.entries, 1))
        let heap = before.flatMap { b in after.map { format2(Double($0 - b) / held) } } ?? "n/a"
        withExtendedLifetime(store) {}
        return [name, String(stats.entries), String(stats.keys), heap, format2(Double(stats.entryBytes) / held)]
    }

    static func table(_ header: [String], _ rows: [[String]]) -> String {
        var text = "| " + header.joined(separator: " | ") + " |\n|" + String(repeating: "---|", count: header.count) + "\n"
        for row in rows { text += "| " + row.joined(separator: " | ") + " |\n" }
        return text
    }

    // MARK: Python

    static func runPython(_ stream: [PaymentEvent], options: Options) throws -> (result: (wall: Double, cpu: Double, checksum: Double)?, failure: String?) {
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
        let text = shell("\(options.python) bench/reference/features.py \(path) 2>&1")
        let fields = text.split(separator: " ")
        guard fields.count == 3, let wall = Double(fields[0]), let cpu = Double(fields[1]), let checksum = Double(fields[2]) else { return (nil, text) }
        return ((wall, cpu, checksum), nil)
    }

    // MARK: Report

    /// Machine, load, commit and date lines of a results file.
    static func provenance() -> String {
        var text = "- Machine: \(machineDescription()), shared with other engineers' builds (load average at the end: \(shell("cut -d' ' -f1-3 /proc/loadavg"))): wall-clock numbers are pessimistic, CPU time is the fairer figure\n"
        text += "- Commit: \(shell("git rev-parse --short HEAD"))\(shell("git status --porcelain --untracked-files=no | head -1").isEmpty ? "" : " (with uncommitted changes)")\n"
        text += "- Date: \(shell("date -u +%Y-%m-%dT%H:%M:%SZ"))\n"
        return text
    }

    static func write(arguments: [String], options: Options, events: Int, sections: [String]) throws {
        var text = "# Benchmark: features\n\n"
        text += "- Command: `\((["swift run -c release waqiti-bench features"] + arguments).joined(separator: " "))` (from the repository root; Redis from `WAQITI_REDIS_URL` or `--redis`)\n"
        text += "- Input: \(events) simulated events (`SimulationConfiguration(events: \(events), seed: 42, eventsPerSecond: 200, disorder: 30 s, duplicateRate: 0.01)`, the same as `waqiti simulate --seed 42 --events \(events) --rate 200 --disorder 30000 --duplicates 0.01`), delivered in arrival order\n"
        text += provenance() + "\n"
        text += sections.joined(separator: "\n")
        print(text)
        let output = try FileOutput(path: "bench/results/features.md")
        try output.write(Array(text.utf8))
        try output.close()
    }
}
