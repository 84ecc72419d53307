import BLAS
import Foundation
import FraudCore
import Model

/// `waqiti-bench model [--rows N] [--runs N]`: training time on a million rows × 30 features, and
/// batch scoring throughput on one core through BLAS against a scalar loop measured in the same
/// run. Fixed seeds, a warm-up, the median of several runs; results in bench/results/model.md.
enum ModelBench {
    static let features = 30
    static let batchRows = 1024

    static func run(_ arguments: [String]) async throws {
        let trainingRows = Int(option("--rows", in: arguments) ?? "1000000") ?? 1_000_000
        let runs = max(1, Int(option("--runs", in: arguments) ?? "3") ?? 3)
        var table: [(String, String, String)] = []

        // Training: the same trainer `waqiti train` runs, on synthetic rows with a ~1% fraud rate.
        let matrix = syntheticMatrix(rows: trainingRows, seed: 42)
        let fraudRate = Double(matrix.labels.filter { $0 }.count) / Double(matrix.rows)
        _ = LogisticRegressionTrainer().fit(syntheticMatrix(rows: 20_000, seed: 7), name: "warmup", input: "bench", seed: nil)
        var fit: LogisticRegressionTrainer.Result?
        for threads in [1, 2] {
            BLAS.setThreadCount(threads)
            var wall: [Double] = [], cpu: [Double] = []
            for _ in 0..<runs {
                let cpuStart = cpuSeconds()
                let (seconds, result) = measure { LogisticRegressionTrainer().fit(matrix, name: "bench", input: "bench", seed: 42) }
                wall.append(seconds)
                cpu.append(cpuSeconds() - cpuStart)
                fit = result
            }
            let result = fit!
            table.append((
                "training, \(trainingRows) rows × \(features) features, \(threads) BLAS thread\(threads == 1 ? "" : "s")",
                String(format: "%.2f s wall, %.2f s CPU", median(wall), median(cpu)),
                "\(result.history.count) L-BFGS iterations (\(result.stopReason)), validation AUC \(String(format: "%.4f", result.evaluation.aucROC)), fraud rate \(String(format: "%.2f%%", fraudRate * 100)); target < 20 s"
            ))
        }

        // Scoring on one core, batches of 1024 events as the engine forms them.
        BLAS.setThreadCount(1)
        let model = fit!.model
        let raw = Array(matrix.values.prefix(batchRows * features))
        let scorer = BatchScorer(model: model)
        let repetitions = 4000
        let rowsScored = Double(batchRows * repetitions)

        let full = rate(rowsScored, runs: runs) {
            for _ in 0..<repetitions { scorer.score(raw: raw, rows: batchRows) }
            return scorer.scores[0]
        }
        let fullScalar = rate(rowsScored, runs: runs) {
            var sink = 0.0
            for _ in 0..<repetitions { sink += scalarScore(model: model, raw: raw, rows: batchRows) }
            return sink
        }
        // The product alone: the standardized Float32 matrix times the weights.
        var random = SplitMix(seed: 3)
        let standardized = (0..<(batchRows * features)).map { _ in Float(random.unit() * 2 - 1) }
        let weights = model.features.map { Float($0.weight) }
        var logits = [Float](repeating: 0, count: batchRows)
        let gemv = rate(rowsScored, runs: runs) {
            standardized.withUnsafeBufferPointer { a in
                weights.withUnsafeBufferPointer { x in
                    logits.withUnsafeMutableBufferPointer { y in
                        for _ in 0..<repetitions { try! BLAS.sgemv(rows: batchRows, columns: features, a: a, x: x, y: y) }
                    }
                }
            }
            return Double(logits[0])
        }
        let loop = rate(rowsScored, runs: runs) {
            standardized.withUnsafeBufferPointer { a in
                for _ in 0..<repetitions {
                    for row in 0..<batchRows {
                        var sum: Float = 0
                        for column in 0..<features { sum += a[row * features + column] * weights[column] }
                        logits[row] = sum
                    }
                }
            }
            return Double(logits[0])
        }
        table.append(("scoring pipeline (standardize + cblas_sgemv + sigmoid), 1 core", rows(full), "ratio to scalar pipeline \(String(format: "%.2f", full / fullScalar))×; target ≥ 20 M rows/s"))
        table.append(("scoring pipeline, scalar loop reference, 1 core", rows(fullScalar), "same arithmetic in one Double loop"))
        table.append(("product only: cblas_sgemv, \(batchRows) × \(features), 1 core", rows(gemv), "ratio to scalar loop \(String(format: "%.2f", gemv / loop))×"))
        table.append(("product only: scalar Float loop, 1 core", rows(loop), ""))

        let header = "| measurement | median of \(runs) | notes |\n|---|---|---|\n"
        let body = table.map { "| \($0.0) | \($0.1) | \($0.2) |" }.joined(separator: "\n")
        let text = """
        # Model benchmark

        `swift run -c release waqiti-bench model --rows \(trainingRows) --runs \(runs)`

        Machine: \(machine()). OpenBLAS: \(BLAS.configuration). Commit: \(commit()).
        Synthetic data (seed 42): \(features) features (Gaussian, log-normal and binary columns), labels drawn from a
        known logistic model. Scoring batches are \(batchRows) rows, repeated \(repetitions) times per run, one BLAS thread.
        The machine is shared (2 cores, several builds running): wall times include waiting for a core; CPU times do not.

        \(header)\(body)

        """
        print(text)
        try FileManager.default.createDirectory(atPath: "bench/results", withIntermediateDirectories: true)
        try text.write(toFile: "bench/results/model.md", atomically: true, encoding: .utf8)
    }

    /// One row per event: 10 Gaussian, 10 log-normal (amount-like, counts-like), 10 binary columns;
    /// P(fraud) from fixed weights with the bias set for ~1% fraud. Event times one second apart.
    static func syntheticMatrix(rows: Int, seed: UInt64) -> LabeledMatrix {
        var random = SplitMix(seed: seed)
        let weights = (0..<features).map { j in j % 3 == 0 ? 0.8 : (j % 3 == 1 ? -0.4 : 0.1) }
        var matrix = LabeledMatrix(featureNames: (0..<features).map { "x\($0)" })
        matrix.reserveCapacity(rows: rows)
        var row = [Double](repeating: 0, count: features)
        for i in 0..<rows {
            var logit = -7.0
            for j in 0..<features {
                let value: Double
                switch j / 10 {
                case 0: value = random.gaussian()
                case 1: value = exp(random.gaussian())
                default: value = random.unit() < 0.2 ? 1 : 0
                }
                row[j] = value
                logit += weights[j] * (j / 10 == 1 ? log(value) : value)
            }
            let fraud = random.unit() < 1 / (1 + exp(-logit))
            matrix.append(row: row, label: fraud, time: EventTime(millisecondsSinceEpoch: 1_700_000_000_000 + Int64(i) * 1000))
        }
        return matrix
    }

    /// The reference: per row, standardize each value and accumulate weight × z, then σ.
    static func scalarScore(model: LogisticModel, raw: [Double], rows: Int) -> Double {
        var sink = 0.0
        let p = model.features.count
        for row in 0..<rows {
            var logit = model.bias
            for (column, feature) in model.features.enumerated() { logit += feature.weight * feature.standardize(raw[row * p + column]) }
            sink += Logistic.sigmoid(logit)
        }
        return sink
    }

    static func rate(_ rows: Double, runs: Int, _ body: () -> Double) -> Double {
        _ = body() // warm-up
        var rates: [Double] = []
        var sink = 0.0
        for _ in 0..<runs {
            let (seconds, value) = measure(body)
            sink += value
            rates.append(rows / seconds)
        }
        if sink.isNaN { print("(sink \(sink))") } // keeps the work observable to the optimizer
        return median(rates)
    }

    static func measure<T>(_ body: () -> T) -> (Double, T) {
        let start = ContinuousClock.now
        let value = body()
        let d = ContinuousClock.now - start
        return (Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18, value)
    }

    /// CPU time of the whole process (all threads): separates the work from waiting for a core
    /// on a shared machine.
    static func cpuSeconds() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    static func rows(_ perSecond: Double) -> String { String(format: "%.1f M rows/s", perSecond / 1e6) }

    static func option(_ name: String, in arguments: [String]) -> String? {
        guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return nil }
        return arguments[index + 1]
    }

    static func machine() -> String {
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let model = cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }?.split(separator: ":").last?
            .trimmingCharacters(in: .whitespaces) ?? "unknown CPU"
        return "\(model), \(ProcessInfo.processInfo.activeProcessorCount) cores"
    }

    static func commit() -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/git")
        process.arguments = ["rev-parse", "--short", "HEAD"]
        let pipe = Pipe()
        process.standardOutput = pipe
        guard (try? process.run()) != nil else { return "unknown" }
        process.waitUntilExit()
        return String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// SplitMix64 with uniform and Gaussian draws: fixed-seed data for the benchmark.
private struct SplitMix {
    private var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }

    /// Standard normal (Box–Muller).
    mutating func gaussian() -> Double {
        let u = max(unit(), 1e-300), v = unit()
        return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * v)
    }
}
