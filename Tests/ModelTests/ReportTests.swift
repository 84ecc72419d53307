import Foundation
import FraudCore
import Testing
@testable import Model

@Suite struct ReportTests {
    @Test func matrixExportWritesRawValuesLabelsAndSplit() throws {
        var matrix = LabeledMatrix(featureNames: ["count(ip, 1h)", "channel == \"ecom\""])
        matrix.append(row: [3, 1], label: true, time: EventTime(millisecondsSinceEpoch: 0))
        matrix.append(row: [.nan, 0.25], label: false, time: EventTime(millisecondsSinceEpoch: 10_000))
        let split = TimeSplit(times: matrix.times, validationFraction: 0.2)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("matrix-\(UUID().uuidString).csv").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try MatrixExport.write(matrix, split: split, to: path)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text == "\"count(ip, 1h)\",\"channel == \"\"ecom\"\"\",label,split\n3.0,1.0,1,train\n,0.25,0,valid\n")
    }

    @Test func thresholdsAreTheNumbersModelScoreIsComparedWith() {
        let rules = """
        decline if model_score >= 0.9  # a comment mentioning model_score > 0.1 is ignored
        review if model_score>0.7 and amount > 500
        review if risk_points >= 40
        """
        #expect(ModelScoreThresholds.find(inRules: rules) == [0.7, 0.9])
    }

    @Test func specRejectsARepeatedExpression() {
        let error = #expect(throws: ModelFileError.self) {
            try TrainingSpec.decode(Data(#"{"features": ["count(ip, 1h)", "count(ip, 1h)"]}"#.utf8), file: "spec.json")
        }
        #expect(error?.description == "spec.json: features[1]: \"count(ip, 1h)\" repeats features[0]")
        let spec = try? TrainingSpec.decode(Data(#"{"name": "x", "features": ["amount_usd"], "class_weight": "balanced", "l2": 0.5}"#.utf8), file: "spec.json")
        #expect(spec == TrainingSpec(name: "x", features: ["amount_usd"], l2: 0.5, classWeight: .balanced))
    }

    @Test func htmlReportIsSelfContainedWithThreeCharts() throws {
        let (design, labels) = TrainingTests.dataset(rows: 500, seed: 4, separable: false)
        var matrix = LabeledMatrix(featureNames: ["x0", "x1", "x2"])
        for i in 0..<labels.count {
            matrix.append(row: design[(i * 3)..<(i * 3 + 3)], label: labels[i], time: EventTime(millisecondsSinceEpoch: Int64(i)))
        }
        let result = try LogisticRegressionTrainer().fit(matrix, name: "r", input: "mem", seed: nil)
        let report = TrainingReport(result: result, thresholds: [0.5, 0.9], dataNotes: ["500 events"])
        let html = report.html
        #expect(html.components(separatedBy: "<svg ").count - 1 == 3)
        #expect(!html.contains("src=") && !html.contains("href=") && !html.contains("<script"))
        #expect(report.markdown.contains("| AUC-ROC | \(MetricsReport.fixed(result.evaluation.aucROC, 4)) |"))
        #expect(report.markdown.contains("| 0.5 | "))
    }
}
