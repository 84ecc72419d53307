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

    func write() throws {
        var text = "# Benchmark: engine (`waqiti serve` end to end)\n\n"
        text += "- Command: `source deploy/local/env.sh && swift build -c release && \((["swift run -c release waqiti-bench engine"] + arguments).joined(separator: " "))`\n"
        text += "- Machine: \(shell("uname -srm")), \(shell("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'")), \(shell("nproc")) cores, "
        text += "**shared with other engineers' builds while measured** (load average before: \(loadBefore); after: \(shell("cut -d' ' -f1-3 /proc/loadavg")))\n"
        text += "- Services: the local stack (deploy/local): Tansu broker and Redis on loopback, the engine, the load generator, the reader and wrk all on the same 2 cores\n"
        text += "- Commit: \(shell("git rev-parse --short HEAD"))\n- Date: \(shell("date -u +%Y-%m-%dT%H:%M:%SZ"))\n"
        text += "- Input: simulated payments (seed 42, 1% fraud), keyed by account id, 6-partition topics; rules/default.rules and models/default.json; "
        text += "engine defaults (batches of 500, 5 ms linger)\n\n"

        text += "## Throughput\n\n\(options.events) payments preloaded; rate from the first to the last output message (start-up and group join excluded); "
        text += "median of \(options.runs) interleaved rounds, each on a fresh consumer group and a fresh engine process (Redis database flushed). "
        text += "CPU is the engine process's user + system time from start to its last decision, per event.\n\n"
        text += table(["path", "store", "events/s", "engine CPU µs/event", "share of pass-through"], throughput)

        text += "\n## Event → decision latency\n\nOpen loop: payments are produced on a fixed schedule (1 ms ticks); latency runs from each payment's "
        text += "scheduled produce instant to the arrival of its decision at the reader (HdrHistogram, 3 significant digits), "
        text += "after \(options.warmup) s of warm-up, over \(options.seconds) s; one fresh engine per store.\n\n"
        text += table(["store", "offered events/s", "load", "decided", "p50 ms", "p99 ms", "p99.9 ms", "max ms"], latency)

        if !http.isEmpty {
            text += "\n## HTTP `POST /v1/score`\n\nwrk 4.1 (closed loop, one thread), \(options.httpSeconds) s per row, on the in-memory engine; "
            text += "each request is a simulated payment with a new payment id (scored and windows updated). A fixed rate is approximated by "
            text += "a per-connection delay, so the achieved rate is below the target by the response time; wrk's latency is measured from "
            text += "the request's send, without coordinated-omission correction.\n\n"
            text += table(["target req/s", "connections", "achieved req/s", "p50 ms", "p99 ms", "p99.9 ms", "max ms", "errors"], http)
        }

        text += "\n## Targets (issue 6)\n\n" + targets.map { "- \($0)" }.joined(separator: "\n") + "\n"
        print(text)
        let output = try FileOutput(path: "bench/results/engine.md")
        try output.write(Array(text.utf8))
        try output.close()
    }

    private func table(_ header: [String], _ rows: [[String]]) -> String {
        var text = "| " + header.joined(separator: " | ") + " |\n|" + String(repeating: "---|", count: header.count) + "\n"
        for row in rows { text += "| " + row.joined(separator: " | ") + " |\n" }
        return text
    }
}
