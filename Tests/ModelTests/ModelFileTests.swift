import Foundation
import Testing
@testable import Model

@Suite struct ModelFileTests {
    @Test func encodeThenDecodeGivesTheSameModel() throws {
        let text = ModelFileEncoder.encode(Fixtures.model)
        let decoded = try ModelFileDecoder.decode(Data(text.utf8), file: "m.json")
        #expect(decoded == Fixtures.model)
        #expect(decoded.version == "fixture@" + String(Fixtures.model.contentHash.prefix(12)))
        #expect(text.contains(#"{"expression": "channel == \"ecom\"", "weight": -0.75, "mean": 0.5, "std": 0.5, "clip": [0, 1]}"#))
    }

    @Test func contentHashIgnoresTrainingMetadataButNotWeights() {
        var retrained = Fixtures.model
        retrained.training.iterations = 7
        retrained.evaluation.aucROC = 0.5
        #expect(retrained.contentHash == Fixtures.model.contentHash)
        retrained.features[1].weight = 1.2500001
        #expect(retrained.contentHash != Fixtures.model.contentHash)
    }

    /// Each case edits the fixture's encoded text once and expects the exact error.
    static let malformed: [(edit: @Sendable (String) -> String, message: String)] = [
        ({ _ in "[1, 2]" }, "m.json: expected a JSON object at the top level, got an array"),
        ({ $0.replacingOccurrences(of: "\"format_version\": 1", with: "\"format_version\": 2") },
         "m.json: format_version: unsupported version 2; this build reads version 1"),
        ({ $0.replacingOccurrences(of: "  \"bias\": -4,\n", with: "") }, "m.json: bias: missing required key"),
        ({ $0.replacingOccurrences(of: "\"bias\": -4", with: "\"bias\": \"-4\"") }, "m.json: bias: expected a number, got a string"),
        ({ $0.replacingOccurrences(of: "\"name\": \"fixture\"", with: "\"name\": \"my model\"") },
         "m.json: name: \"my model\" may contain only letters, digits, '-', '_' and '.'"),
        ({ $0.replacingOccurrences(of: "\"bias\": -4,", with: "\"bias\": -4, \"wieghts\": [],") },
         "m.json: wieghts: unknown key; expected one of: bias, content_hash, evaluation, features, format_version, name, training"),
        ({ $0.replacingOccurrences(of: "\"std\": 2,", with: "\"std\": 0,") }, "m.json: features[1].std: must be greater than 0, got 0.0"),
        ({ $0.replacingOccurrences(of: "\"weight\": 1.25,", with: "\"wieght\": 1.25,") },
         "m.json: features[1].wieght: unknown key; expected one of: clip, expression, mean, std, weight"),
        ({ $0.replacingOccurrences(of: "\"weight\": 1.25,", with: "") }, "m.json: features[1].weight: missing required key"),
        ({ $0.replacingOccurrences(of: "count(card_fingerprint,1h)", with: "log1p(amount_usd)") },
         "m.json: features[1].expression: \"log1p(amount_usd)\" repeats features[0]"),
        ({ $0.replacingOccurrences(of: "\"clip\": [0, 40]", with: "\"clip\": [41, 40]") },
         "m.json: features[1].clip: lower bound 41.0 is above upper bound 40.0"),
        ({ $0.replacingOccurrences(of: "\"clip\": [0, 40]", with: "\"clip\": [0]") },
         "m.json: features[1].clip: expected [lower, upper] with two finite numbers"),
        ({ $0.replacingOccurrences(of: "\"mean\": 0.5,", with: "\"mean\": null,") }, "m.json: features[2].mean: expected a number, got null"),
        // A number beyond a Double's range was a generic JSON type error; it names the number and its key.
        ({ $0.replacingOccurrences(of: "\"bias\": -4,", with: "\"bias\": 1e999,") },
         "m.json: bias: 1e999 is not a finite number (it does not fit a 64-bit float); model values must be finite"),
        ({ $0.replacingOccurrences(of: "\"weight\": 1.25,", with: "\"weight\": -1e400,") },
         "m.json: features[1].weight: -1e400 is not a finite number (it does not fit a 64-bit float); model values must be finite"),
        ({ $0.replacingOccurrences(of: "\"class_weight\": \"none\"", with: "\"class_weight\": \"auto\"") },
         "m.json: training.class_weight: expected \"none\" or \"balanced\", got \"auto\""),
        ({ $0.replacingOccurrences(of: "\"train_from\": \"2026-11-01T00:00:00.000Z\"", with: "\"train_from\": \"yesterday\"") },
         "m.json: training.train_from: expected an RFC 3339 time such as 2026-11-29T08:15:30.123Z, got \"yesterday\""),
        ({ $0.replacingOccurrences(of: "\"train_rows\": 800", with: "\"train_rows\": 800.5") },
         "m.json: training.train_rows: expected a non-negative integer, got 800.5"),
        ({ $0.replacingOccurrences(of: "\"auc_roc\": 0.9375", with: "\"auc_roc\": 1.5") },
         "m.json: evaluation.auc_roc: expected a number in 0...1, got 1.5"),
        ({ $0.replacingOccurrences(of: "\"evaluation\": {", with: "\"evaluation\": [{").replacingOccurrences(of: "0.0625}", with: "0.0625}]") },
         "m.json: evaluation: expected an object, got an array"),
        ({ $0.replacingOccurrences(of: "\"weight\": 0.5,", with: "\"weight\": 0.75,") },
         "m.json: content_hash: the file declares sha256:\(Fixtures.model.contentHash) but its bias and features hash to sha256:\(Self.editedHash); the file was edited after training (retrain it, or set content_hash to the new value if the edit is intended)"),
    ]

    static var editedHash: String {
        var edited = Fixtures.model
        edited.features[0].weight = 0.75
        return edited.contentHash
    }

    @Test(arguments: malformed.indices)
    func malformedFileIsRejectedWithAPreciseMessage(case index: Int) {
        let (edit, message) = Self.malformed[index]
        let text = edit(ModelFileEncoder.encode(Fixtures.model))
        #expect(text != ModelFileEncoder.encode(Fixtures.model), "the edit of case \(index) changed nothing")
        let error = #expect(throws: ModelFileError.self) { try ModelFileDecoder.decode(Data(text.utf8), file: "m.json") }
        #expect(error?.description == message)
    }

    @Test func invalidJSONNamesTheFile() {
        let error = #expect(throws: ModelFileError.self) { try ModelFileDecoder.decode(Data("{\"bias\": ".utf8), file: "m.json") }
        #expect(error?.description.hasPrefix("m.json: not valid JSON: ") == true)
        #expect(error?.key == nil)
    }

    @Test func missingFileSaysSo() {
        let error = #expect(throws: ModelFileError.self) { try ModelFileDecoder.load(path: "/nonexistent/model.json") }
        #expect(error?.description.hasPrefix("/nonexistent/model.json: cannot read the file: ") == true)
    }
}
