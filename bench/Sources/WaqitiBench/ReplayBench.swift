import BLAS
import Foundation
import Features
import FraudCore
import Replay
import Simulation

// Suite `replay`: backtesting end to end against its parts and a Python peer, in one run.
//   swift run -c release waqiti-bench replay [--events N] [--runs R] [--rules FILE] [--model FILE|none] [--workers N]
// Measures, on one core, from a JSON Lines file written by the simulator:
//   - decode only (JSONLinesReader): the input ceiling; writing the pre-decoded cache
//     (`waqiti replay --cache`, first run) and reading it back (later runs);
//   - the in-memory feature store alone, the three bench features, pre-decoded events: its ceiling;
//   - the same store over the replay's whole plan (the bench features plus every rule feature);
//   - the replay end to end (decode ▶ features ▶ rules + model ▶ decision ▶ summary, decisions
//     encoded to a file), through the same DecisionEngine as serve, on one thread and with
//     decoding pipelined on `--workers - 1` more threads, the store's shards on `--workers`
//     threads, batch n scored and written while batch n + 1's features are computed
//     (`waqiti replay --workers N`, each step in a row of its own), and
//     from the pre-decoded cache;
//   - the replay end to end on the Python reference's work: its three features and three rules
//     (bench/reference/replay.rules), no model;
//   - bench/reference/replay.py over the same file (same three features, three rules), whose
//     outcomes must equal the row before's.

enum ReplayBench {
    static let features = "count(card_fingerprint,1h),sum(amount_minor,card_fingerprint,1h),count(account_id,24h)"

    static let eventsOption: BenchOption<Int> = .integer("--events", default: 1_000_000, help: "simulated events in the input file (seed 42, fraud rate 0.01)")
    static let runsOption: BenchOption<Int> = .runs(default: 3)
    static let rulesOption: BenchOption<String> = .text("--rules", "FILE", default: "rules/default.rules", help: "the rules of the replay rows")
    static let modelOption: BenchOption<String> = .text("--model", "FILE|none", default: "models/default.json", help: "the model of the replay rows; none: rules only")
    static let workersOption: BenchOption<Int> = .integer("--workers", default: 2, raisedTo: 2,
                                                          help: "threads of the pipelined rows (`waqiti replay --workers N`): decoding on N - 1, the store's shards on N")

    static let suite = BenchSuite(summary: """
        Backtesting (`waqiti replay`) end to end, its parts, and the Python reference.
        Decode, the pre-decoded cache, the feature store, the engine and the decisions file, on one \
        thread and pipelined, against bench/reference/replay.py in the same run (minutes at the default size); \
        writes bench/results/replay.md.
        """, options: [eventsOption, runsOption, rulesOption, modelOption, workersOption]) { arguments in
        let events = arguments[eventsOption], runs = arguments[runsOption], rulesPath = arguments[rulesOption], workers = arguments[workersOption]
        let modelPath: String? = arguments[modelOption] == "none" ? nil : arguments[modelOption]
        // One OpenBLAS thread, as `waqiti replay` sets it (ReplayCommand): OpenBLAS's idle workers
        // spin, which on a quiet machine doubled the engine rows' CPU time against their wall time.
        BLAS.useCallingThreadOnly()
        let path = "/tmp/waqiti-bench-replay-\(getpid()).jsonl"
        let decisionsPath = "/tmp/waqiti-bench-replay-\(getpid()).decisions.jsonl"
        let cachePath = "/tmp/waqiti-bench-replay-\(getpid()).wqc"
        defer { unlink(path); unlink(decisionsPath); unlink(cachePath) }
        let bytes = try writeSimulation(events: events, to: path)
        var rows: [[String]] = []

        let decode = try measureSync(runs: runs) {
            let reader = try JSONLinesReader(path: path)
            var count: Int64 = 0
            while let batch = try reader.nextBatch(maxLines: 1024) { count += Int64(batch.events.count) }
            return count
        }
        rows.append(row("decode only (JSONLinesReader)", events, decode, peakRSS()))

        func cachedSource() throws -> CachedEventSource {
            try CachedEventSource(input: path, cache: cachePath) {
                let reader = try JSONLinesReader(path: path)
                return ({ try reader.nextBatch(maxLines: $0) }, { reader.bytesRead })
            }
        }
        let cacheWrite = try measureSync(runs: runs) {
            unlink(cachePath)
            let source = try cachedSource()
            var count: Int64 = 0
            while let batch = try source.nextBatch(maxEvents: 1024) { count += Int64(batch.events.count) }
            return count
        }
        rows.append(row("decode + write the cache (first --cache run's input side)", events, cacheWrite, peakRSS()))
        var cacheInfo = stat()
        let cacheBytes = stat(cachePath, &cacheInfo) == 0 ? Int(cacheInfo.st_size) : 0
        let cacheRead = try measureSync(runs: runs) {
            let source = try cachedSource()
            precondition(source.mode == .reading)
            var count: Int64 = 0
            while let batch = try source.nextBatch(maxEvents: 1024) { count += Int64(batch.events.count) }
            return count
        }
        rows.append(row("read the cache (checksums verified, events built)", events, cacheRead, peakRSS()))

        let decoded = try JSONLinesReader.readAll(path: path).events
        let benchPlan = FeaturePlan(try FeatureSpec.parseList(features))
        let storeOnly = measureSync(runs: runs) { storeCeiling(decoded, plan: benchPlan) }
        rows.append(row("feature store alone, 3 bench features (pre-decoded)", events, storeOnly, peakRSS()))

        let scoring = try ReplayScoring.load(rulesPath: rulesPath, modelPath: modelPath)
        let setup = EngineReplaySetup(baseline: scoring, extraFeatures: benchPlan.features)
        let union = setup.unionPlan
        let storeUnion = measureSync(runs: runs) { storeCeiling(decoded, plan: union) }
        rows.append(row("feature store alone, all \(union.count) replay features (pre-decoded)", events, storeUnion, peakRSS()))

        var decided = OutcomeCounts()
        // `storeThreads` below `workers`, and no overlapped output, isolate what each step of
        // `--workers` adds.
        enum Input { case file(workers: Int, storeThreads: Int, overlapsBatches: Bool), cache, decoded }
        func endToEnd(_ input: Input, decisionsFile: Bool = true, setup: EngineReplaySetup = setup) async throws -> Timings {
            try await measureAsync(runs: runs) {
                // `waqiti replay --workers N`: decoding ahead, the store's shards on N threads, and
                // each batch scored and written while the next one's features are computed.
                var configured = setup
                if case .file(let workers, let storeThreads, _) = input, workers > 1 { configured.storeParallelism = storeThreads }
                var (replay, _) = configured.make()
                replay.batchSize = 1024
                if case .file(_, _, let overlapsBatches) = input { replay.overlapsBatches = overlapsBatches }
                let next: DecisionReplay.NextBatch
                switch input {
                case .file(let workers, _, _) where workers > 1:
                    let source = PipelinedEventSource(reader: try JSONLinesReader(path: path), workers: workers - 1)
                    next = { try source.nextBatch(maxEvents: $0) }
                case .file:
                    let reader = try JSONLinesReader(path: path)
                    next = { try reader.nextBatch(maxLines: $0) }
                case .cache:
                    let source = try cachedSource()
                    next = { try source.nextBatch(maxEvents: $0) }
                case .decoded:
                    var start = 0
                    next = { max in
                        guard start < decoded.count else { return nil }
                        var batch = EventBatch()
                        let end = min(start + max, decoded.count)
                        batch.events = Array(decoded[start..<end])
                        batch.lineNumbers = Array(start + 1...end)
                        start = end
                        return batch
                    }
                }
                let output = decisionsFile ? try FileOutput(path: decisionsPath) : nil
                let result = try await replay.run(from: next, decisionsOut: output)
                try output?.close()
                decided = result.baseline.summary.outcomes
                return (Int64(result.baseline.summary.events), replay)
            }
        }
        let replay = try await endToEnd(.file(workers: 1, storeThreads: 1, overlapsBatches: false))
        rows.append(row("replay end to end, 1 thread (decode, engine, summary, decisions file)", events, replay, peakRSS()))
        let decodeAhead = try await endToEnd(.file(workers: workers, storeThreads: 1, overlapsBatches: false))
        rows.append(row("replay end to end, \(workers) threads: decoding on \(workers - 1) more, store on 1", events, decodeAhead, peakRSS()))
        let sharded = try await endToEnd(.file(workers: workers, storeThreads: workers, overlapsBatches: false))
        rows.append(row("replay end to end, \(workers) threads: decoding on \(workers - 1) more, store shards on \(workers)", events, sharded, peakRSS()))
        let pipelined = try await endToEnd(.file(workers: workers, storeThreads: workers, overlapsBatches: true))
        rows.append(row("replay end to end, --workers \(workers) (decoding on \(workers - 1) more thread(s), store shards on \(workers), scoring and output overlapped)", events, pipelined, peakRSS()))
        let fromCache = try await endToEnd(.cache)
        rows.append(row("replay end to end from the cache, 1 thread (--cache, cache present)", events, fromCache, peakRSS()))

        // Where the time goes: the engine without any decoding, then without writing decisions.
        let engineOnly = try await endToEnd(.decoded)
        rows.append(row("stage: engine + summary + decisions file (pre-decoded events in memory)", events, engineOnly, peakRSS()))
        let engineNoOutput = try await endToEnd(.decoded, decisionsFile: false)
        rows.append(row("stage: engine + summary, no decisions file (pre-decoded events in memory)", events, engineNoOutput, peakRSS()))

        let defaultDecided = decided
        // The Python reference's work through the engine: what the default rules and model add is
        // the gap between this row and the 1-thread row above.
        let referenceWork = EngineReplaySetup(baseline: try ReplayScoring.load(rulesPath: referenceRules, modelPath: nil), extraFeatures: [])
        let equalWork = try await endToEnd(.file(workers: 1, storeThreads: 1, overlapsBatches: false), setup: referenceWork)
        let equalWorkDecided = decided
        rows.append(row("replay end to end, 1 thread, the Python reference's work (its 3 features and 3 rules: \(referenceRules), no model)", events, equalWork, peakRSS()))

        let python = runPython(input: path)
        rows.append(python.map { ["Python reference (bench/reference/replay.py: 3 features, 3 rules, no model; 1 run)", String(events), format2($0.seconds * 1000), format2($0.cpuSeconds * 1000),
                                  String(Int(Double(events) / $0.seconds)), String(Int(Double(events) / $0.cpuSeconds)), "\($0.peakKiB / 1024)"] }
                    ?? ["Python reference: not run (python3 failed)", String(events), "–", "–", "–", "–", "–"])

        // Ratios by CPU time: the machine is shared, so wall-clock ratios would measure the neighbours.
        let endToEnd = Double(events) / replay.cpu[replay.cpu.count / 2]
        var notes = "Input: \(events) events from the simulator (seed 42, fraud rate 0.01), \(format2(Double(bytes) / 1e6)) MB of JSON Lines; the pre-decoded cache is \(format2(Double(cacheBytes) / 1e6)) MB. "
        notes += "Rules: \(rulesPath) (\(scoring.rules.version)); model: \(modelPath ?? "none"); replay plan: \(union.count) features (\(union.features.map(\.canonicalName).joined(separator: ", "))). "
        notes += "Decisions: approve \(defaultDecided.approve), review \(defaultDecided.review), decline \(defaultDecided.decline). "
        notes += "Peak RSS is the process high-water mark after each measurement (cumulative, in measurement order); the Python row is its own process. "
        if let python {
            let pythonRate = Double(events) / python.cpuSeconds
            notes += "The same work as Python (its 3 features and 3 rules, no model) through the engine vs Python, by CPU time: \(format2(Double(events) / median(equalWork.cpu) / pythonRate))x; "
            notes += "outcomes \(python.outcomes == equalWorkDecided ? "identical" : "DIFFERENT") (engine approve \(equalWorkDecided.approve), review \(equalWorkDecided.review), decline \(equalWorkDecided.decline); Python approve \(python.outcomes.approve), review \(python.outcomes.review), decline \(python.outcomes.decline)). "
            notes += "End to end with the default rules and model (1 thread, \(union.count) features) vs Python's 3 features and 3 rules, by CPU time: \(format2(endToEnd / pythonRate))x. "
        }
        notes += "End to end (1 thread) vs the store's own ceiling over the same plan, by CPU time: \(format2(endToEnd / (Double(events) / storeUnion.cpu[storeUnion.cpu.count / 2]) * 100))% of it. "
        notes += "Per-stage CPU per event (medians): decode \(nanos(decode, events)) ns, cache read \(nanos(cacheRead, events)) ns, feature store over the replay plan \(nanos(storeUnion, events)) ns, "
        notes += "engine + summary without decisions file \(nanos(engineNoOutput, events)) ns, decisions encoding and writing \(format2((median(engineOnly.cpu) - median(engineNoOutput.cpu)) * 1e9 / Double(events))) ns, end to end \(nanos(replay, events)) ns, end to end from the cache \(nanos(fromCache, events)) ns. "
        notes += "Pipelined vs 1 thread, wall clock: \(format2(replay.wall[replay.wall.count / 2] / pipelined.wall[pipelined.wall.count / 2]))x."
        try writeReport(runs: runs, arguments: arguments.given, rows: rows, notes: notes)
    }

    private static func writeSimulation(events: Int, to path: String) throws -> Int {
        var delivery = try SimulatedDelivery(SimulationConfiguration(events: events, seed: 42, fraudRate: 0.01))
        let output = try FileOutput(path: path)
        let encoder = EventEncoder()
        var bytes = 0
        while let event = delivery.next() {
            try output.append { buffer in
                let before = buffer.count
                encoder.append(event, to: &buffer)
                buffer.append(0x0A)
                bytes += buffer.count - before
            }
        }
        try output.close()
        return bytes
    }

    /// A fresh store over pre-decoded events in batches of 1,024: what the windows cost alone.
    /// The store is returned to be freed after the clock stops, like the replay rows' engines.
    private static func storeCeiling(_ events: [PaymentEvent], plan: FeaturePlan) -> (count: Int64, built: InMemoryFeatureStore) {
        let store = InMemoryFeatureStore(lateness: .minutes(5))
        var out: [Double] = []
        var sink: Int64 = 0
        var start = 0
        while start < events.count {
            let end = min(start + 1024, events.count)
            _ = store.processSync(Array(events[start..<end]), plan: plan, mode: .update, into: &out)
            sink &+= Int64(out.count)
            start = end
        }
        return (sink, store)
    }

    private static func median(_ values: [Double]) -> Double { values[values.count / 2] }

    private static func nanos(_ timings: Timings, _ events: Int) -> String { format2(median(timings.cpu) * 1e9 / Double(events)) }

    static let referenceRules = "bench/reference/replay.rules"

    private static func runPython(input: String) -> (seconds: Double, cpuSeconds: Double, peakKiB: Int, outcomes: OutcomeCounts)? {
        guard let pipe = popen("python3 bench/reference/replay.py --input \(input) 2>/dev/null", "r") else { return nil }
        var output = ""
        var buffer = [CChar](repeating: 0, count: 4096)
        while fgets(&buffer, Int32(buffer.count), pipe) != nil {
            output += String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        guard pclose(pipe) == 0 else { return nil }
        func number(_ key: String) -> Double? {
            guard let range = output.range(of: "\"\(key)\": ") else { return nil }
            return Double(output[range.upperBound...].prefix { $0.isNumber || $0 == "." })
        }
        guard let seconds = number("seconds"), let cpu = number("cpu_seconds"), let peak = number("peak_rss_kib") else { return nil }
        var outcomes = OutcomeCounts()
        outcomes.approve = Int(number("approve") ?? -1)
        outcomes.review = Int(number("review") ?? -1)
        outcomes.decline = Int(number("decline") ?? -1)
        return (seconds, cpu, Int(peak), outcomes)
    }

    private static func peakRSS() -> Int {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return usage.ru_maxrss / 1024
    }

    /// Wall-clock and process CPU seconds (every thread: the pipelined row counts its decoders)
    /// of each timed run, sorted; one warm-up run first.
    static func measureAsync(runs: Int, _ body: () async throws -> Int64) async rethrows -> Timings {
        try await measureAsync(runs: runs) { (try await body(), ()) }
    }

    /// `body` returns its count and what it built, which is freed after the clock stops:
    /// `waqiti replay` leaves its engine to the process exit (`ProcessLifetime`), so a run's
    /// teardown is not part of what a backtest costs.
    static func measureAsync<Built>(runs: Int, _ body: () async throws -> (count: Int64, built: Built)) async rethrows -> Timings {
        var sink = try await body().count
        let clock = ContinuousClock()
        var timings = Timings()
        for _ in 0..<runs {
            let cpuStart = processCPUSeconds()
            let start = clock.now
            let (count, built) = try await body()
            sink &+= count
            timings.wall.append(toSeconds(clock.now - start))
            timings.cpu.append(processCPUSeconds() - cpuStart)
            withExtendedLifetime(built) {}
        }
        if sink == 42 { print("") }
        timings.wall.sort()
        timings.cpu.sort()
        return timings
    }

    private static func measureSync(runs: Int, _ body: () throws -> Int64) rethrows -> Timings {
        try measureSync(runs: runs) { (try body(), ()) }
    }

    /// As `measureAsync(runs:_:)` with what `body` built: freed after the clock stops.
    private static func measureSync<Built>(runs: Int, _ body: () throws -> (count: Int64, built: Built)) rethrows -> Timings {
        var sink = try body().count
        let clock = ContinuousClock()
        var timings = Timings()
        for _ in 0..<runs {
            let cpuStart = processCPUSeconds()
            let start = clock.now
            let (count, built) = try body()
            sink &+= count
            timings.wall.append(toSeconds(clock.now - start))
            timings.cpu.append(processCPUSeconds() - cpuStart)
            withExtendedLifetime(built) {}
        }
        if sink == 42 { print("") }
        timings.wall.sort()
        timings.cpu.sort()
        return timings
    }

    private static func processCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }

    private static func toSeconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }

    private static func row(_ name: String, _ events: Int, _ timings: Timings, _ peakMiB: Int) -> [String] {
        let wall = timings.wall[timings.wall.count / 2], cpu = timings.cpu[timings.cpu.count / 2]
        return [name, String(events), format2(wall * 1000), format2(cpu * 1000),
                String(Int((Double(events) / wall).rounded())), String(Int((Double(events) / cpu).rounded())), String(peakMiB)]
    }

    private static func writeReport(runs: Int, arguments: [String], rows: [[String]], notes: String) throws {
        let header = ["measurement", "events", "wall ms (median)", "CPU ms (median)", "events/s (wall)", "events per CPU second", "peak RSS MiB"]
        var table = "| " + header.joined(separator: " | ") + " |\n|" + String(repeating: "---|", count: header.count) + "\n"
        for row in rows { table += "| " + row.joined(separator: " | ") + " |\n" }
        print(table)
        print(notes)
        let command = (["swift run -c release waqiti-bench replay"] + arguments).joined(separator: " ")
        var text = "# Benchmark: replay\n\n"
        text += "- Command: `\(command)` (\(runs) timed runs after one warm-up; medians of wall-clock time and of the process's CPU time, all threads; each run's store and engines are freed after its clock stops, as `waqiti replay` leaves them to the process exit)\n"
        text += "- Machine: \(machineDescription()) (shared with other builds while measured; load average \(shell("cut -d' ' -f1 /proc/loadavg")))\n"
        text += "- Commit: \(shell("git rev-parse --short HEAD"))\(shell("git status --porcelain --untracked-files=no | head -1").isEmpty ? "" : " (with uncommitted changes)")\n"
        text += "- Date: \(shell("date -u +%Y-%m-%dT%H:%M:%SZ"))\n\n"
        text += table + "\n" + notes + "\n"
        let output = try FileOutput(path: "bench/results/replay.md")
        try output.write(Array(text.utf8))
        try output.close()
    }
}
