import FraudCore
import Foundation

/// The `engine` suite's tables, printed and written to bench/results/engine.md with the machine,
/// commit, load and the exact command.
struct EngineBenchReport {
    var arguments: [String]
    var options: EngineBench.Options
    var loadBefore: String
    var throughput: [[String]]
    var latency: [[String]]
    var http: [[String]]
    var targets: [String]

    /// The commands that build both release binaries where `--waqiti .build-release/release/waqiti`
    /// finds the engine, then run the bench with `arguments` (a plain `swift build -c release`
    /// writes to .build/release, which that path does not name).
    static func command(_ arguments: [String]) -> String {
        "source deploy/local/env.sh && swift build -c release --scratch-path .build-release --product waqiti && "
            + "swift build -c release --scratch-path .build-release --product waqiti-bench && "
            + (([".build-release/release/waqiti-bench engine"] + arguments).joined(separator: " "))
    }

    func write() throws {
        var text = "# Benchmark: engine (`waqiti serve` end to end)\n\n"
        text += "- Command: `\(Self.command(arguments))`\n"
        text += "- Machine: \(machineDescription()), "
        text += "**shared with other engineers' builds while measured** (load average before: \(loadBefore); after: \(shell("cut -d' ' -f1-3 /proc/loadavg")))\n"
        text += "- Services: the local stack (deploy/local): Tansu broker and Redis on loopback, the engine, the load generator, the reader and wrk all on the same 2 cores\n"
        text += "- Commit: \(shell("git rev-parse --short HEAD"))\n- Date: \(shell("date -u +%Y-%m-%dT%H:%M:%SZ"))\n"
        text += "- Input: simulated payments (seed 42, 1% fraud), keyed by account id, 6-partition topics; rules/default.rules and models/default.json; "
        text += "engine defaults (batches of 500, 5 ms linger)\n\n"

        text += "## Throughput\n\n\(options.events) payments preloaded; rate from the first to the last output message (start-up and group join excluded); "
        text += "median of \(options.runs) interleaved rounds, each on a fresh consumer group and a fresh engine process (Redis database flushed). "
        text += "CPU is the engine process's user + system time from start to its last decision, per event.\n\n"
        text += Self.table(["path", "store", "events/s", "engine CPU µs/event", "share of pass-through"], throughput)

        text += "\n## Event → decision latency\n\nOpen loop: payments are handed to a producer on a fixed schedule (1 ms ticks, 5 ms linger); latency runs from each payment's "
        text += "scheduled produce instant to the arrival of its decision at the reader (5 ms fetch wait; HdrHistogram, 3 significant digits), "
        text += "after \(options.warmup) s of warm-up, over \(options.seconds) s. "
        text += "Each pass-through copier row is the broker's floor at that offered load, measured just before the engine's row below it: "
        text += "the copier (the throughput ceiling's, no scoring, the engine's Kafka settings) copies each payment "
        text += "to another topic, timed the same way from produce to the copy's arrival. Every row has fresh topics, a fresh consumer group "
        text += "and (engine rows) a fresh engine process: Tansu's in-memory fetch cost grows with the record batches a partition holds.\n\n"
        text += Self.table(["path / store", "offered events/s", "load", "decided", "p50 ms", "p99 ms", "p99.9 ms", "max ms"], latency)

        if !http.isEmpty {
            text += "\n" + EngineBenchHTTP.section(rows: http, seconds: options.httpSeconds, warmup: options.warmup)
        }

        text += "\n## Targets (issue 6)\n\n" + targets.map { "- \($0)" }.joined(separator: "\n") + "\n"
        print(text)
        let output = try FileOutput(path: "bench/results/engine.md")
        try output.write(Array(text.utf8))
        try output.close()
    }

    /// `--only http`: the HTTP section, with its own command, load and commit since the rest of
    /// the file comes from an earlier full run, spliced into bench/results/engine.md.
    static func writeHTTPOnly(arguments: [String], options: EngineBench.Options, loadBefore: String, outcome: EngineBenchHTTP.Outcome) throws {
        var header = "Measured alone: `\(command(arguments))` at commit \(shell("git rev-parse --short HEAD")), "
        header += "\(shell("date -u +%Y-%m-%dT%H:%M:%SZ")), load average before: \(loadBefore); after: \(shell("cut -d' ' -f1-3 /proc/loadavg")) "
        header += "(\(shell("nproc")) cores shared with other engineers' builds).\n\n"
        let section = EngineBenchHTTP.section(rows: outcome.rows, seconds: options.httpSeconds, warmup: options.warmup, header: header)
        print(section)
        if let line = outcome.targetLine { print("- " + line) }
        let path = "bench/results/engine.md"
        let existing = (try? String(contentsOfFile: path, encoding: .utf8)) ?? "# Benchmark: engine (`waqiti serve` end to end)\n"
        let output = try FileOutput(path: path)
        try output.write(Array(EngineBenchHTTP.splice(into: existing, section: section, targetLine: outcome.targetLine).utf8))
        try output.close()
    }

    static func table(_ header: [String], _ rows: [[String]]) -> String {
        var text = "| " + header.joined(separator: " | ") + " |\n|" + String(repeating: "---|", count: header.count) + "\n"
        for row in rows { text += "| " + row.joined(separator: " | ") + " |\n" }
        return text
    }
}
