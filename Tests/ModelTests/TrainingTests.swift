import Foundation
import FraudCore
import Testing
@testable import Model

@Suite struct TrainingTests {
    /// Rows of three features with labels drawn from a known logistic model (non-separable).
    static func dataset(rows: Int, seed: UInt64, separable: Bool) -> (design: [Double], labels: [Bool]) {
        var random = TestRandom(seed: seed)
        var design: [Double] = [], labels: [Bool] = []
        for _ in 0..<rows {
            let x = random.doubles(3).map { $0 * 2 }
            design += x
            let logit = 1.5 * x[0] - 2 * x[1] + 0.25 * x[2] - 1
            labels.append(separable ? logit > 0 : Double.random(in: 0..<1, using: &random) < Logistic.sigmoid(logit))
        }
        return (design, labels)
    }

    /// Newton's method on the same objective, written independently of the trainer: the
    /// reference solution. θ = [w, b]; H = (1/n)·Σ sᵢpᵢ(1−pᵢ)·x̃ᵢx̃ᵢᵀ + λ·diag(1,…,1,0).
    static func newton(design: [Double], labels: [Bool], weights: [Double], columns p: Int, l2: Double) -> [Double] {
        let n = labels.count, d = p + 1
        var theta = [Double](repeating: 0, count: d)
        for _ in 0..<50 {
            var gradient = [Double](repeating: 0, count: d)
            var hessian = [[Double]](repeating: [Double](repeating: 0, count: d), count: d)
            for i in 0..<n {
                let x = Array(design[(i * p)..<((i + 1) * p)]) + [1]
                var logit = 0.0
                for a in 0..<d { logit += x[a] * theta[a] }
                let prob = 1 / (1 + exp(-logit))
                let r = weights[i] * (prob - (labels[i] ? 1 : 0)) / Double(n)
                let h = weights[i] * prob * (1 - prob) / Double(n)
                for a in 0..<d {
                    gradient[a] += r * x[a]
                    for b in 0..<d { hessian[a][b] += h * x[a] * x[b] }
                }
            }
            for a in 0..<p {
                gradient[a] += l2 * theta[a]
                hessian[a][a] += l2
            }
            let step = solve(hessian, gradient)
            for a in 0..<d { theta[a] -= step[a] }
            if step.map(abs).max()! < 1e-14 { break }
        }
        return theta
    }

    /// Gaussian elimination with partial pivoting.
    static func solve(_ matrix: [[Double]], _ vector: [Double]) -> [Double] {
        var a = matrix, b = vector
        let n = b.count
        for k in 0..<n {
            let pivot = (k..<n).max { abs(a[$0][k]) < abs(a[$1][k]) }!
            a.swapAt(k, pivot)
            b.swapAt(k, pivot)
            for i in (k + 1)..<n {
                let f = a[i][k] / a[k][k]
                for j in k..<n { a[i][j] -= f * a[k][j] }
                b[i] -= f * b[k]
            }
        }
        var x = [Double](repeating: 0, count: n)
        for i in stride(from: n - 1, through: 0, by: -1) {
            x[i] = (b[i] - ((i + 1)..<n).map { a[i][$0] * x[$0] }.reduce(0, +)) / a[i][i]
        }
        return x
    }

    @Test(arguments: [(false, 0.001), (true, 0.01), (false, 0.0)])
    func lbfgsMatchesNewton(separable: Bool, l2: Double) {
        let (design, labels) = Self.dataset(rows: 400, seed: separable ? 3 : 5, separable: separable)
        let weights = [Double](repeating: 1, count: labels.count)
        let reference = Self.newton(design: design, labels: labels, weights: weights, columns: 3, l2: l2)
        let fit = LogisticRegressionTrainer.fitStandardized(design: design, labels: labels, columns: 3, l2: l2)
        #expect(fit.stopReason == .converged)
        for (a, b) in zip(fit.x, reference) { #expect(abs(a - b) < 1e-5, "L-BFGS \(fit.x) vs Newton \(reference)") }
    }

    @Test func balancedClassWeightsMatchNewton() {
        let (design, labels) = Self.dataset(rows: 300, seed: 9, separable: false)
        let classWeights = LogisticRegressionTrainer.classWeights(labels, .balanced)
        let weights = labels.map { $0 ? classWeights.fraud : classWeights.legit }
        let reference = Self.newton(design: design, labels: labels, weights: weights, columns: 3, l2: 0.001)
        let fit = LogisticRegressionTrainer.fitStandardized(design: design, labels: labels, columns: 3, l2: 0.001, sampleWeights: weights)
        for (a, b) in zip(fit.x, reference) { #expect(abs(a - b) < 1e-5) }
    }

    @Test func balancedWeightsAreNOverTwiceTheClassCount() {
        let w = LogisticRegressionTrainer.classWeights([true, false, false, false], .balanced)
        #expect(w.fraud == 2)
        #expect(w.legit == 4.0 / 6.0)
        #expect(LogisticRegressionTrainer.classWeights([true, false], .none) == (1, 1))
    }

    @Test func splitHoldsOutTheLastPartOfEventTime() {
        // Times 0 s … 9 s: the 0.8 quantile is the row at position ⌊10 · 0.8⌋ = 8 in time order, 8 s.
        var random = TestRandom(seed: 99)
        let times = (0..<10).map { EventTime(millisecondsSinceEpoch: Int64($0) * 1000) }.shuffled(using: &random)
        let split = TimeSplit(times: times, validationFraction: 0.2)
        #expect(split.cutoff == EventTime(millisecondsSinceEpoch: 8000))
        #expect(split.trainRows.map { times[$0].millisecondsSinceEpoch }.sorted() == [0, 1000, 2000, 3000, 4000, 5000, 6000, 7000])
        #expect(split.validationRows.map { times[$0].millisecondsSinceEpoch }.sorted() == [8000, 9000])
        #expect(TimeSplit(times: times, validationFraction: 0).validationRows.isEmpty)
    }

    /// One event dated years early must not stretch the time range so that every other row
    /// lands in validation: the split is a quantile of the rows, not a share of the range.
    @Test func splitIsAQuantileOfTheRowsNotOfTheTimeRange() {
        let day: Int64 = 86_400_000
        let start: Int64 = 1_793_491_200_000 // 2026-11-01
        let times = [EventTime(millisecondsSinceEpoch: 1_577_836_800_000)] // 2020-01-01
            + (0..<1000).map { EventTime(millisecondsSinceEpoch: start + Int64($0) * day / 1000) }
        let split = TimeSplit(times: times, validationFraction: 0.2)
        // ⌊1001 · 0.8⌋ = 800: the outlier and the first 799 regular rows train.
        #expect(split.trainRows.count == 800)
        #expect(split.validationRows.count == 201)
        #expect(split.trainRows.contains(0))
        // Ties with the cutoff time all go to validation, whatever the rows' order.
        let tied = (0..<10).map { EventTime(millisecondsSinceEpoch: $0 < 6 ? 0 : 1000) }
        for order in [tied, tied.reversed()] {
            let s = TimeSplit(times: order, validationFraction: 0.5)
            #expect(s.cutoff == EventTime(millisecondsSinceEpoch: 0))
            #expect(s.trainRows.isEmpty && s.validationRows.count == 10)
        }
    }

    /// A matrix of `rows` rows, one minute apart from `start`, labels from the logistic dataset.
    static func matrix(rows: Int, seed: UInt64 = 21, time: (Int) -> Int64 = { Int64($0) * 60_000 }, label: ((Int, Bool) -> Bool)? = nil) -> LabeledMatrix {
        let (design, labels) = dataset(rows: rows, seed: seed, separable: false)
        var matrix = LabeledMatrix(featureNames: ["x0", "x1", "x2"])
        for i in 0..<rows {
            matrix.append(row: design[(i * 3)..<(i * 3 + 3)], label: label?(i, labels[i]) ?? labels[i], time: EventTime(millisecondsSinceEpoch: time(i)))
        }
        return matrix
    }

    @Test func trainerRefusesAnEmptyOrTinySplit() throws {
        // Every row at one event time: no training rows.
        let same = #expect(throws: LogisticRegressionTrainer.TrainingError.self) {
            try LogisticRegressionTrainer().fit(Self.matrix(rows: 500, time: { _ in 0 }), name: "t", input: "mem", seed: nil)
        }
        #expect(same?.description.contains("leaves 0 training and 500 validation rows") == true)
        #expect(same?.description.contains("all 500 rows have the same event time") == true)
        // Too few validation rows: 200 rows with fraction 0.1 leave 20.
        var options = LogisticRegressionTrainer.Options()
        options.validationFraction = 0.1
        let small = #expect(throws: LogisticRegressionTrainer.TrainingError.self) {
            try LogisticRegressionTrainer(options: options).fit(Self.matrix(rows: 200), name: "t", input: "mem", seed: nil)
        }
        #expect(small?.description.contains("leaves 180 training and 20 validation rows") == true)
        // Without validation the same rows train.
        options.validationFraction = 0
        let all = try LogisticRegressionTrainer(options: options).fit(Self.matrix(rows: 200), name: "t", input: "mem", seed: nil)
        #expect(all.model.training.trainRows == 200)
    }

    @Test func trainerRefusesATrainingSplitWithoutBothClasses() {
        let error = #expect(throws: LogisticRegressionTrainer.TrainingError.self) {
            try LogisticRegressionTrainer().fit(Self.matrix(rows: 500, label: { _, _ in false }), name: "t", input: "mem", seed: nil)
        }
        #expect(error?.description.contains("all legit") == true)
        #expect(error?.description.contains("fraud rows are missing") == true)
    }

    @Test func singleClassValidationHasNoAUCAndNoEarlyStopping() throws {
        // Rows 400… (the validation split) are all legit.
        let result = try LogisticRegressionTrainer().fit(Self.matrix(rows: 500, label: { i, l in i < 400 && l }), name: "t", input: "mem", seed: nil)
        #expect(result.model.training.validationRows == 100)
        #expect(result.model.evaluation.aucROC == nil)
        #expect(result.model.evaluation.aucPR == nil)
        #expect(result.warnings.count == 1)
        #expect(result.stopReason != "early_stopping")
        let text = ModelFileEncoder.encode(result.model)
        #expect(text.contains("\"auc_roc\": null, \"auc_pr\": null"))
        let decoded = try ModelFileDecoder.decode(Data(text.utf8), file: "m.json")
        #expect(decoded.evaluation == result.model.evaluation)
    }

    @Test func scalingSkipsMissingValuesAndKeepsConstantColumnsHarmless() {
        let t = EventTime(millisecondsSinceEpoch: 0)
        var matrix = LabeledMatrix(featureNames: ["a", "b"])
        for (a, b) in [(1.0, 7.0), (3, 7), (.nan, 7), (5, 7), (100, 7)] { matrix.append(row: [a, b], label: false, time: t) }
        let scaling = FeatureScaling(fitting: matrix, rows: [0, 1, 2, 3])
        #expect(scaling.means == [3, 7])
        #expect(abs(scaling.stds[0] - (8.0 / 3.0).squareRoot()) < 1e-15)
        #expect(scaling.stds[1] == 1)
        #expect(scaling.lower == [1, 7])
        #expect(scaling.upper == [5, 7])
        #expect(scaling.standardize(.nan, column: 0) == 0)
        #expect(scaling.standardize(7, column: 1) == 0)
    }

    @Test func trainerFitsRecoversSignsAndRecordsTheSplit() throws {
        let (design, labels) = Self.dataset(rows: 2000, seed: 21, separable: false)
        var matrix = LabeledMatrix(featureNames: ["x0", "x1", "x2"])
        for i in 0..<labels.count {
            matrix.append(row: design[(i * 3)..<(i * 3 + 3)], label: labels[i], time: EventTime(millisecondsSinceEpoch: Int64(i) * 60_000))
        }
        var options = LogisticRegressionTrainer.Options()
        options.l2 = 0.001
        let result = try LogisticRegressionTrainer(options: options).fit(matrix, name: "t", input: "mem", seed: 21)
        // Cutoff at the 0.8 quantile, row ⌊2000 · 0.8⌋ = 1600: rows 0…1599 train, 1600…1999 validation.
        #expect(result.model.training.trainRows == 1600)
        #expect(result.model.training.validationRows == 400)
        #expect(result.model.evaluation.rows == 400)
        #expect(result.model.features.map { $0.weight > 0 } == [true, false, true])
        #expect((result.model.evaluation.aucROC ?? 0) > 0.8)
        #expect(!result.history.isEmpty)
        // The model scores its validation rows exactly as the trainer's evaluation did.
        let scorer = BatchScorer(model: result.model)
        let validation = matrix.selecting(result.split.validationRows)
        scorer.score(raw: validation.values, rows: validation.rows)
        for row in 0..<validation.rows { #expect(abs(scorer.scores[row] - result.evaluation.scores[row]) < 1e-5) }
    }
}
