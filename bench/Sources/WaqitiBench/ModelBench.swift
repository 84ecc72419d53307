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

    static let rowsOption: BenchOption<Int> = .integer("--rows", default: 1_000_000, help: "synthetic training rows (seed 42), 30 features each")
    static let runsOption: BenchOption<Int> = .runs(default: 3)

    static let suite = BenchSuite(summary: """
        Logistic regression: training time and batch scoring.
        Training on synthetic rows with 1 and 2 BLAS threads, and scoring on one core through BLAS \
        against a scalar loop in the same run; writes bench/results/model.md.
        """, options: [rowsOption, runsOption]) { arguments in
        try await run(trainingRows: arguments[rowsOption], runs: arguments[runsOption])
    }

    static func run(trainingRows: Int, runs: Int) async throws {
        var table: [(String, String, String)] = []

        // Training: the same trainer `waqiti train` runs, on synthetic rows with a ~1% fraud rate.
        let matrix = syntheticMatrix(rows: trainingRows, seed: 42)
        let fraudRate = Double(matrix.labels.filter { $0 }.count) / Double(matrix.rows)
        _ = try LogisticRegressionTrainer().fit(syntheticMatrix(rows: 20_000, seed: 7), name: "warmup", input: "bench", seed: nil)
        var fit: LogisticRegressionTrainer.Result?
        for threads in [1, 2] {
            BLAS.setThreadCount(threads)
            var wall: [Double] = [], cpu: [Double] = []
            for _ in 0..<runs {
                let cpuStart = cpuSeconds()
                let (seconds, outcome) = measure { Result { try LogisticRegressionTrainer().fit(matrix, name: "bench", input: "bench", seed: 42) } }
                let result = try outcome.get()
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

        // Scoring on one core, batches of 1024 events as the engine forms them. Rates are rows per
        // second of the thread's CPU time: wall time on this shared machine includes waiting for a core.
        BLAS.setThreadCount(1)
        let model = fit!.model
        let raw = Array(matrix.values.prefix(batchRows * features))
        let scorer = BatchScorer(model: model)
        let repetitions = 4000
        let rowsScored = Double(batchRows * repetitions)

        let blas = rate(rowsScored, runs: runs) {
            for _ in 0..<repetitions { scorer.score(raw: raw, rows: batchRows) }
            return scorer.scores[0]
        }
        let reference = rate(rowsScored, runs: runs) {
            var sink = 0.0
            raw.withUnsafeBufferPointer { raw in
                for _ in 0..<repetitions {
                    for row in 0..<batchRows { sink += model.referenceScore(raw: raw, offset: row * features) }
                }
            }
            return sink
        }
        scorer.score(raw: raw, rows: batchRows)
        let worst = raw.withUnsafeBufferPointer { raw in
            (0..<batchRows).map { abs(scorer.scores[$0] - model.referenceScore(raw: raw, offset: $0 * features)) }.max()!
        }
        // The stages alone: the product over a prepared 1024 × 32 matrix (30 features padded to
        // 32 columns, as the scorer lays them out), and the sigmoid over its logits.
        var random = BenchRandom(seed: 3)
        let stride = (features + 7) / 8 * 8
        let prepared = (0..<(batchRows * stride)).map { $0 % stride < features ? Float(random.unit() * 2 - 1) : 0 }
        let weights = model.features.map { Float($0.weight / $0.std) } + [Float](repeating: 0, count: stride - features)
        var logits = [Float](repeating: 0, count: batchRows)
        var probabilities = [Double](repeating: 0, count: batchRows)
        // The scorer's product (one sdot per row, so a row's bits do not depend on its batch)
        // and the one sgemv it replaced.
        func product(_ multiply: (UnsafeBufferPointer<Float>, UnsafeBufferPointer<Float>, UnsafeMutableBufferPointer<Float>) -> Void) -> Double {
            rate(rowsScored, runs: runs) {
                prepared.withUnsafeBufferPointer { a in
                    weights.withUnsafeBufferPointer { x in
                        logits.withUnsafeMutableBufferPointer { y in
                            for _ in 0..<repetitions { multiply(a, x, y) }
                        }
                    }
                }
                return Double(logits[0])
            }
        }
        let dots = product { a, x, y in try! BLAS.sdotRows(rows: batchRows, columns: stride, a: a, x: x, y: y) }
        let gemv = product { a, x, y in try! BLAS.sgemv(rows: batchRows, columns: stride, a: a, x: x, y: y) }
        let sigmoid = rate(rowsScored, runs: runs) {
            logits.withUnsafeBufferPointer { logits in
                probabilities.withUnsafeMutableBufferPointer { out in
                    for _ in 0..<repetitions { Logistic.sigmoid(logits: logits.baseAddress!, bias: Float(model.bias), count: batchRows, into: out.baseAddress!) }
                }
            }
            return probabilities[0]
        }
        let scalarSigmoid = rate(rowsScored, runs: runs) {
            var sink = 0.0
            for _ in 0..<repetitions {
                for row in 0..<batchRows { sink += Logistic.sigmoid(model.bias + Double(logits[row])) }
            }
            return sink
        }

        // Champion and challenger (retrained with 4× the L2 on the same rows: same clips and
        // means, other weights) in one sgemm, against two single-model scorers.
        var stronger = LogisticRegressionTrainer.Options()
        stronger.l2 = model.training.l2 * 4
        let challenger = try LogisticRegressionTrainer(options: stronger).fit(matrix, name: "challenger", input: "bench", seed: 42).model
        let pair = try MultiModelScorer(models: [model, challenger])
        let challengerScorer = BatchScorer(model: challenger)
        let sgemm = rate(rowsScored, runs: runs) {
            for _ in 0..<repetitions { pair.score(raw: raw, rows: batchRows) }
            return pair.scores(model: 1).first!
        }
        let twoScorers = rate(rowsScored, runs: runs) {
            for _ in 0..<repetitions {
                scorer.score(raw: raw, rows: batchRows)
                challengerScorer.score(raw: raw, rows: batchRows)
            }
            return scorer.scores[0] + challengerScorer.scores[0]
        }

        table.append(("scoring: BLAS path (clip + centre → Float32, one cblas_sdot per row, vector sigmoid), 1 core", rows(blas), "\(String(format: "%.1f", blas / reference))× the reference loop; target ≥ 20 M rows/s; max |score − reference| \(String(format: "%.1e", worst))"))
        table.append(("scoring: reference loop, 1 core", rows(reference), "`LogisticModel.referenceScore`: per row, clip, standardize, w·z in Double, scalar σ"))
        table.append(("stage: one cblas_sdot per row (BLAS.sdotRows), \(batchRows) × \(stride) (30 features padded), 1 core", rows(dots), "one cblas_sgemv over the same matrix: \(rows(gemv)), but a row's result depends on its batch"))
        table.append(("stage: vector sigmoid (8 lanes, Float32 → Double)", rows(sigmoid), "\(String(format: "%.1f", sigmoid / scalarSigmoid))× the scalar Double σ (\(rows(scalarSigmoid)))"))
        table.append(("stage: clip + centre + narrow (derived: path − product − sigmoid)", rows(1 / (1 / blas - 1 / dots - 1 / sigmoid)), ""))
        table.append(("two models (champion + challenger) in one cblas_sgemm, 1 core", rows(sgemm), "\(String(format: "%.2f", sgemm / twoScorers))× two single-model scorers (\(rows(twoScorers)), both models scored per row); columns shared: \(pair.columnCount) of \(2 * features)"))

        let header = "| measurement | median of \(runs) | notes |\n|---|---|---|\n"
        let body = table.map { "| \($0.0) | \($0.1) | \($0.2) |" }.joined(separator: "\n")
        let text = """
        # Model benchmark

        `swift run -c release waqiti-bench model --rows \(trainingRows) --runs \(runs)`

        Machine: \(machine()). OpenBLAS: \(BLAS.configuration). Commit: \(commit()).
        Synthetic data (seed 42): \(features) features (Gaussian, log-normal and binary columns), labels drawn from a
        known logistic model. Scoring batches are \(batchRows) rows (cache-warm, as in the engine, which scores the
        rows it has just extracted), repeated \(repetitions) times per run, one BLAS thread; scoring rates are rows per
        second of the scoring thread's CPU time (CLOCK_THREAD_CPUTIME_ID). The machine is shared (2 cores, several
        builds running): wall times include waiting for a core; CPU times do not.

        \(header)\(body)

        """
        print(text)
        try FileManager.default.createDirectory(atPath: "bench/results", withIntermediateDirectories: true)
        try text.write(toFile: "bench/results/model.md", atomically: true, encoding: .utf8)
    }

    /// One row per event: 10 Gaussian, 10 log-normal (amount-like, counts-like), 10 binary columns;
    /// P(fraud) from fixed weights with the bias set for ~1% fraud. Event times one second apart.
    static func syntheticMatrix(rows: Int, seed: UInt64) -> LabeledMatrix {
        var random = BenchRandom(seed: seed)
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

    /// Rows per second of this thread's CPU time, median of `runs` after a warm-up.
    static func rate(_ rows: Double, runs: Int, _ body: () -> Double) -> Double {
        _ = body() // warm-up
        var rates: [Double] = []
        var sink = 0.0
        for _ in 0..<runs {
            let start = threadCPUSeconds()
            let value = body()
            sink += value
            rates.append(rows / (threadCPUSeconds() - start))
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

    /// CPU time of the calling thread: single-core scoring measured without the time spent
    /// waiting for a core.
    static func threadCPUSeconds() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
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
