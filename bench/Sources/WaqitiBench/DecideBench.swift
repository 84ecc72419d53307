import BLAS
import Engine
import Features
import Foundation
import FraudCore
import Replay
import Simulation

// Suite `decide`: `DecisionEngine.decide` alone (features, model, rules, decisions; no I/O), on one
// core, at the batch sizes its callers form: 1 (`POST /v1/score`), a few (a Kafka poll at a moderate
// rate), hundreds (a backlog, a replay). The cost per event at batch size 1 against that at 512 is
// the fixed cost per call that every HTTP request and every small poll pays.
//   swift run -c release waqiti-bench decide [--events N] [--runs R] [--sizes 1,8,64,512]
//   [--profile SIZE]  (decide at that size only, `runs` times, for perf; writes nothing)
enum DecideBench {
    struct Options {
        static let events: BenchOption<Int> = .integer("--events", default: 20_000, help: "simulated events (seed 42, arrival order)")
        static let runs: BenchOption<Int> = .runs(default: 3)
        static let sizes: BenchOption<[Int]> = .positiveIntegers("--sizes", default: [1, 8, 64, 512], help: "the batch sizes, a row each")
        static let rules: BenchOption<String> = .text("--rules", "PATH", default: "rules/default.rules", help: "the rules file")
        static let model: BenchOption<String> = .text("--model", "PATH", default: "models/default.json", help: "the model file")
        static let profile: BenchOption<Int?> = .integer("--profile", "SIZE", minimum: 1, unset: "off",
                                                         help: "decide at this batch size only, `--runs` times, for a profiler (perf); writes nothing")
        static let declared: [any BenchOptionDeclaration] = [events, runs, sizes, rules, model, profile]

        var events: Int, runs: Int
        var sizes: [Int]
        var rulesPath: String, modelPath: String
        var profile: Int?

        init(_ arguments: BenchArguments) {
            events = arguments[Self.events]
            runs = arguments[Self.runs]
            sizes = arguments[Self.sizes]
            rulesPath = arguments[Self.rules]
            modelPath = arguments[Self.model]
            profile = arguments[Self.profile]
        }
    }

    static let suite = BenchSuite(summary: """
        `DecisionEngine.decide` by batch size, no I/O, one core.
        Features, model, rules and decisions at the batch sizes its callers form: the fixed cost per \
        call that every HTTP request and small poll pays; writes bench/results/decide.md.
        """, options: Options.declared) { arguments in
        let options = Options(arguments)
        // One core, as `waqiti serve` and `waqiti replay` run BLAS: its second thread would spin
        // beside the caller's and double the CPU counted for large batches.
        BLAS.useCallingThreadOnly()
        let events = Array(try SimulatedDelivery(SimulationConfiguration(events: options.events, seed: 42)))
        let scoring = try ReplayScoring.load(rulesPath: options.rulesPath, modelPath: options.modelPath)
        if let size = options.profile {
            for _ in 0..<options.runs { _ = try await decideAll(events, size: size, scoring: scoring) }
            return
        }
        var rows: [[String]] = []
        var perEventAtLargest = 0.0
        for size in options.sizes.sorted() {
            var checksum: Int64 = 0
            let timings = try await ReplayBench.measureAsync(runs: options.runs) {
                checksum = try await decideAll(events, size: size, scoring: scoring)
                return checksum
            }
            let cpu = timings.cpu[timings.cpu.count / 2], wall = timings.wall[timings.wall.count / 2]
            let perEvent = cpu * 1e6 / Double(events.count)
            perEventAtLargest = perEvent
            rows.append([
                String(size), String(events.count), format2(wall * 1000), format2(cpu * 1000),
                format2(perEvent), format2(perEvent * Double(size)), String(Int((Double(events.count) / cpu).rounded())), String(checksum),
            ])
        }
        let header = ["batch size", "events", "wall ms", "CPU ms", "CPU µs / event", "CPU µs / call", "events per CPU-second", "decisions checksum"]
        var table = "| " + header.joined(separator: " | ") + " |\n|" + String(repeating: "---|", count: header.count) + "\n"
        for row in rows { table += "| " + row.joined(separator: " | ") + " |\n" }
        let fixed = rows.first.map { (Double($0[4]) ?? 0) - perEventAtLargest } ?? 0
        let notes = """
        Medians of \(options.runs) runs after one warm-up, each on a fresh engine (in-memory store, \
        in-memory decision cache), \(events.count) simulated events (seed 42, arrival order) decided in \
        calls of `batch size` events; CPU = the process's user + system time. Rules: \(options.rulesPath); \
        model: \(options.modelPath); plan: \(scoring.rules.featurePlan.count) features. The checksum (sum over \
        decisions of outcome × 1000 + risk points) must be equal on every row: the batch size changes the \
        cost, never the answer. Fixed cost per call ≈ \(format2(fixed)) µs (µs/event at size \
        \(options.sizes.min() ?? 1) minus at \(options.sizes.max() ?? 1)).
        """
        print(table)
        print(notes)
        var text = "# Benchmark: decide (`DecisionEngine.decide` by batch size)\n\n"
        text += "- Command: `\((["swift run -c release waqiti-bench decide"] + arguments.given).joined(separator: " "))` (from the repository root)\n"
        text += FeaturesBench.provenance() + "\n" + table + "\n" + notes + "\n"
        let output = try FileOutput(path: "bench/results/decide.md")
        try output.write(Array(text.utf8))
        try output.close()
    }

    /// Decides every event in calls of `size` events on a fresh engine; returns the checksum.
    static func decideAll(_ events: [PaymentEvent], size: Int, scoring: ReplayScoring) async throws -> Int64 {
        let engine = makeEngine(scoring)
        var checksum: Int64 = 0
        var start = 0
        while start < events.count {
            let end = min(start + size, events.count)
            for decision in try await engine.decide(Array(events[start..<end])) {
                checksum &+= Int64(decision.outcome == .approve ? 0 : decision.outcome == .review ? 1000 : 2000) &+ Int64(decision.riskPoints)
            }
            start = end
        }
        return checksum
    }

    static func makeEngine(_ scoring: ReplayScoring) -> DecisionEngine {
        let store = InMemoryFeatureStore(configuration: .init(rates: scoring.rules.rates))
        let router = FeatureRouter(local: store, shared: nil, storeOf: { _ in .memory }, probeInterval: .seconds(5), logger: .init(label: "bench"))
        let rules = scoring.rules, model = scoring.model
        return DecisionEngine(rules: { rules }, model: { model }, features: router, cache: InMemoryDecisionCache(capacity: 1 << 18), degradedPolicy: .decide)
    }
}
