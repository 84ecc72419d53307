import Allocator
import FraudCore
import Foundation
import Simulation

// Suites `decode` and `simulate`: the wire-format decoder and the traffic generator.
//   swift run -c release waqiti-bench decode [--events N] [--runs R]
//   swift run -c release waqiti-bench simulate [--events N] [--runs R]

enum CodecBench {
    static let decode = BenchSuite(summary: """
        The wire-format decoder and encoder (EventDecoder, EventEncoder).
        Simulated events decoded in memory and from a file, and encoded, against Foundation's \
        JSONSerialization in the same run; writes bench/results/decode.md.
        """, options: CodecBenchOptions.declared) { arguments in
        let options = CodecBenchOptions(arguments)
        let configuration = SimulationConfiguration(events: options.events, seed: 42, fraudRate: 0.01)
        var file: [UInt8] = []
        file.reserveCapacity(options.events * 400)
        var lineEnds: [Int] = []
        var delivery = try SimulatedDelivery(configuration)
        while let event = delivery.next() {
            EventEncoder().append(event, to: &file)
            lineEnds.append(file.count)
            file.append(UInt8(ascii: "\n"))
        }
        let path = "/tmp/waqiti-bench-decode-\(getpid()).jsonl"
        let output = try FileOutput(path: path)
        try output.write(file)
        try output.close()
        defer { unlink(path) }

        let decoder = EventDecoder()
        let inMemory = try measureTimings(runs: options.runs) {
            var amounts: Int64 = 0
            try file.withUnsafeBufferPointer { buffer in
                var start = 0
                for end in lineEnds {
                    amounts &+= try decoder.decode(UnsafeBufferPointer(rebasing: buffer[start..<end])).amount.minorUnits
                    start = end + 1
                }
            }
            return amounts
        }
        let fromFile = try measureTimings(runs: options.runs) {
            let reader = try JSONLinesReader(path: path)
            var amounts: Int64 = 0
            while let batch = try reader.nextBatch(maxLines: 4096, decoder: decoder) {
                precondition(batch.errors.isEmpty, "simulated events must decode: \(batch.errors[0])")
                for event in batch.events { amounts &+= event.amount.minorUnits }
            }
            return amounts
        }
        var events: [PaymentEvent] = []
        try file.withUnsafeBufferPointer { buffer in
            var start = 0
            for end in lineEnds {
                events.append(try decoder.decode(UnsafeBufferPointer(rebasing: buffer[start..<end])))
                start = end + 1
            }
        }
        let encode = measureTimings(runs: options.runs) {
            var out: [UInt8] = []
            out.reserveCapacity(file.count)
            let encoder = EventEncoder()
            for event in events {
                encoder.append(event, to: &out)
                out.append(UInt8(ascii: "\n"))
            }
            return Int64(out.count)
        }
        // Peer in the same run: Foundation's JSONSerialization on the first lines (untyped
        // dictionaries, no validation of the schema; it needs a Data copy of each line).
        let peerLines = min(lineEnds.count, 100_000)
        var peerBytes = 0
        let peer = try measureTimings(runs: options.runs) {
            var count: Int64 = 0
            var start = 0
            peerBytes = 0
            for end in lineEnds.prefix(peerLines) {
                let data = Data(file[start..<end])
                peerBytes += data.count + 1
                if let object = try JSONSerialization.jsonObject(with: data) as? [String: Any], object["amount_minor"] != nil { count += 1 }
                start = end + 1
            }
            return count
        }
        let megabytes = Double(file.count) / 1_000_000
        let rows = [
            row("decode, in memory (EventDecoder)", options.events, inMemory, megabytes),
            row("decode, file (JSONLinesReader batches)", options.events, fromFile, megabytes),
            row("encode, in memory (EventEncoder)", options.events, encode, megabytes),
            row("peer: Foundation JSONSerialization, in memory", peerLines, peer, Double(peerBytes) / 1_000_000),
        ]
        let ratio = (Double(options.events) / inMemory.cpu[inMemory.cpu.count / 2]) / (Double(peerLines) / peer.cpu[peer.cpu.count / 2])
        try report(suite: "decode", options: options, arguments: arguments.given, rows: rows,
                   notes: "Input: \(options.events) simulated events (seed 42, fraud rate 0.01), \(format2(megabytes)) MB of JSON Lines, mean \(file.count / max(options.events, 1)) bytes per event. One core. EventDecoder (typed, fully validated) vs JSONSerialization (untyped, unvalidated) in this run, by CPU time: \(format2(ratio))×.")
    }

    static let simulate = BenchSuite(summary: """
        The traffic generator (SimulatedDelivery).
        Generation alone and with JSON Lines encoding, and the generator's contract (fraud rate, \
        every scenario present); writes bench/results/simulate.md.
        """, options: CodecBenchOptions.declared) { arguments in
        let options = CodecBenchOptions(arguments)
        let configuration = SimulationConfiguration(events: options.events, seed: 1, fraudRate: 0.01)
        var sizes = 0
        let generate = try measureTimings(runs: options.runs) {
            var delivery = try SimulatedDelivery(configuration)
            var count: Int64 = 0
            while delivery.next() != nil { count += 1 }
            return count
        }
        let generateAndEncode = try measureTimings(runs: options.runs) {
            var delivery = try SimulatedDelivery(configuration)
            var out: [UInt8] = []
            out.reserveCapacity(1 << 20)
            let encoder = EventEncoder()
            var total = 0
            while let event = delivery.next() {
                encoder.append(event, to: &out)
                out.append(UInt8(ascii: "\n"))
                if out.count > 1 << 20 { total += out.count; out.removeAll(keepingCapacity: true) }
            }
            sizes = total + out.count
            return Int64(sizes)
        }
        // The contract of the generator at this size: fraud rate within ±0.2 pp and every scenario present.
        var fraud = 0
        var scenarios: Set<String> = []
        for event in try SimulatedDelivery(configuration) where event.label == .fraud {
            fraud += 1
            scenarios.insert(event.metadata["scenario"] ?? "")
        }
        let rate = Double(fraud) / Double(max(options.events, 1))
        let expected = Set(FraudScenario.allCases.map(\.rawValue))
        let checks = "Fraud events: \(fraud) (rate \(format2(rate * 100))%, requested 1.00%, allowed ±0.20 pp: \(abs(rate - 0.01) <= 0.002 ? "ok" : "FAILED")); scenarios present: \(scenarios.sorted().joined(separator: ", ")) (\(scenarios == expected ? "all" : "MISSING SOME"))."
        let megabytes = Double(sizes) / 1_000_000
        let rows = [
            row("generate (SimulatedDelivery)", options.events, generate, megabytes),
            row("generate + encode JSON Lines", options.events, generateAndEncode, megabytes),
        ]
        try report(suite: "simulate", options: options, arguments: arguments.given, rows: rows, notes: checks)
        guard abs(rate - 0.01) <= 0.002, scenarios == expected else {
            print("simulate: generator contract violated: \(checks)")
            exit(1)
        }
    }
}

struct CodecBenchOptions {
    static let events: BenchOption<Int> = .integer("--events", default: 1_000_000, help: "simulated events")
    static let runs: BenchOption<Int> = .runs(default: 5)
    static let declared: [any BenchOptionDeclaration] = [events, runs]

    var events: Int
    var runs: Int

    init(_ arguments: BenchArguments) {
        events = arguments[Self.events]
        runs = arguments[Self.runs]
    }
}

/// One warm-up run, then `runs` timed runs; returns the sorted wall-clock durations in seconds
/// (shared with other suites). The closure returns a value derived from the work so the optimiser
/// cannot drop it.
func measure(runs: Int, _ body: () throws -> Int64) rethrows -> [Double] {
    try measureTimings(runs: runs, body).wall
}

/// Wall-clock and on-CPU seconds of each timed run, sorted. On a shared machine the CPU time of
/// the measuring thread is the steadier number; both are reported.
struct Timings {
    var wall: [Double] = []
    var cpu: [Double] = []
}

/// One warm-up run, then `runs` timed runs, as wall-clock and thread CPU time.
func measureTimings(runs: Int, _ body: () throws -> Int64) rethrows -> Timings {
    var sink = try body()
    let clock = ContinuousClock()
    var timings = Timings()
    for _ in 0..<runs {
        let cpuStart = threadCPUSeconds()
        let start = clock.now
        sink &+= try body()
        let elapsed = clock.now - start
        timings.cpu.append(threadCPUSeconds() - cpuStart)
        timings.wall.append(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
    }
    if sink == 42 { print("") }
    timings.wall.sort()
    timings.cpu.sort()
    return timings
}

private func threadCPUSeconds() -> Double {
    var spec = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &spec)
    return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
}

private func row(_ name: String, _ events: Int, _ timings: Timings, _ megabytes: Double) -> [String] {
    let wall = timings.wall[timings.wall.count / 2]
    let cpu = timings.cpu[timings.cpu.count / 2]
    return [name, String(events), format2(wall * 1000), format2(cpu * 1000),
            String(Int((Double(events) / wall).rounded())), String(Int((Double(events) / cpu).rounded())),
            format2(megabytes / cpu)]
}

func format2(_ value: Double) -> String {
    let scaled = (value * 100).rounded() / 100
    var text = String(scaled)
    if let dot = text.firstIndex(of: "."), text.distance(from: dot, to: text.endIndex) == 2 { text += "0" }
    return text
}

/// Prints the table and writes it with the machine, commit and command to bench/results/<suite>.md.
private func report(suite: String, options: CodecBenchOptions, arguments: [String], rows: [[String]], notes: String) throws {
    let header = ["measurement", "events", "wall ms (median)", "CPU ms (median)", "events/s (wall)", "events/s (CPU)", "MB/s (CPU)"]
    var table = "| " + header.joined(separator: " | ") + " |\n|" + String(repeating: "---|", count: header.count) + "\n"
    for row in rows { table += "| " + row.joined(separator: " | ") + " |\n" }
    print(table)
    print(notes)
    let command = (["swift run -c release waqiti-bench", suite] + arguments).joined(separator: " ")
    var text = "# Benchmark: \(suite)\n\n"
    text += "- Command: `\(command)` (\(options.runs) timed runs after one warm-up; medians of wall-clock time and of the thread's CPU time)\n"
    text += "- Machine: \(machineDescription()) (shared with other builds while measured)\n"
    text += "- Load average while measured: \(shell("cut -d' ' -f1-3 /proc/loadavg")) (other engineers' builds on the same cores: wall-clock numbers are pessimistic, CPU time is the fairer figure)\n"
    text += "- Commit: \(shell("git rev-parse --short HEAD"))\(shell("git status --porcelain --untracked-files=no | head -1").isEmpty ? "" : " (with uncommitted changes)")\n"
    text += "- Date: \(shell("date -u +%Y-%m-%dT%H:%M:%SZ"))\n\n"
    text += table + "\n" + notes + "\n"
    let output = try FileOutput(path: "bench/results/\(suite).md")
    try output.write(Array(text.utf8))
    try output.close()
}

/// The machine line of a results file: kernel, CPU, core count and the allocator the bench runs on
/// (the one `waqiti` links, so in-process measurements allocate as the product does).
func machineDescription() -> String {
    "\(shell("uname -srm")), \(shell("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'")), \(shell("nproc")) cores, allocator \(Allocator.description)"
}

func shell(_ command: String) -> String {
    guard let pipe = popen(command, "r") else { return "?" }
    var output = ""
    var buffer = [CChar](repeating: 0, count: 512)
    while fgets(&buffer, Int32(buffer.count), pipe) != nil {
        output += String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
    pclose(pipe)
    while output.last == "\n" { output.removeLast() }
    return output
}
