import Foundation
import FraudCore

/// Reads a model file (`models/*.json`, format version 1) into a `LogisticModel`, validating every
/// value. The first problem found is thrown as a `ModelFileError` naming its key; see
/// docs/model.md for the format.
public enum ModelFileDecoder {
    public static func load(path: String) throws(ModelFileError) -> LogisticModel {
        try decode(read(path), file: path)
    }

    /// The file's bytes, or an error that names it.
    static func read(_ path: String) throws(ModelFileError) -> Data {
        do {
            return try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ModelFileError(file: path, key: nil, message: "cannot read the file: \(error.localizedDescription)")
        }
    }

    /// - Parameter file: the name used in error messages.
    public static func decode(_ data: Data, file: String) throws(ModelFileError) -> LogisticModel {
        let reader = try JSONObjectReader.root(data, file: file)
        try reader.rejectUnknownKeys(allowed: ["format_version", "name", "content_hash", "bias", "features", "training", "evaluation"])

        let version = try reader.nonNegativeInteger("format_version")
        guard version == LogisticModel.formatVersion else {
            throw reader.error("format_version", "unsupported version \(version); this build reads version \(LogisticModel.formatVersion)")
        }
        let name = try reader.string("name")
        guard name.utf8.allSatisfy(isNameByte) else {
            throw reader.error("name", "\"\(name)\" may contain only letters, digits, '-', '_' and '.'")
        }
        let bias = try reader.finite("bias")
        let features = try decodeFeatures(reader)
        let training = try decodeTraining(reader.object("training"))
        let evaluation = try decodeEvaluation(reader.object("evaluation"))
        let model = LogisticModel(name: name, features: features, bias: bias, training: training, evaluation: evaluation)

        let declaredHash = try reader.string("content_hash")
        let actualHash = "sha256:" + model.contentHash
        guard declaredHash == actualHash else {
            throw reader.error(
                "content_hash",
                "the file declares \(declaredHash) but its bias and features hash to \(actualHash); the file was edited after training (retrain it, or set content_hash to the new value if the edit is intended)"
            )
        }
        return model
    }

    private static func decodeFeatures(_ reader: JSONObjectReader) throws(ModelFileError) -> [ModelFeature] {
        let items = try reader.array("features")
        guard !items.isEmpty else { throw reader.error("features", "must list at least one feature") }
        var features: [ModelFeature] = []
        var firstIndex: [String: Int] = [:]
        for (index, item) in items.enumerated() {
            let feature = try JSONObjectReader(file: reader.file, path: "features[\(index)]", value: item)
            try feature.rejectUnknownKeys(allowed: ["expression", "weight", "mean", "std", "clip"])
            let expression = try feature.string("expression")
            if let earlier = firstIndex[expression] {
                throw feature.error("expression", "\"\(expression)\" repeats features[\(earlier)]")
            }
            firstIndex[expression] = index
            let weight = try feature.finite("weight")
            let mean = try feature.finite("mean")
            let std = try feature.finite("std")
            guard std > 0 else { throw feature.error("std", "must be greater than 0, got \(std)") }
            let clip = try feature.array("clip")
            guard clip.count == 2, case .number(let lower) = clip[0], case .number(let upper) = clip[1],
                  lower.isFinite, upper.isFinite else {
                throw feature.error("clip", "expected [lower, upper] with two finite numbers")
            }
            guard lower <= upper else { throw feature.error("clip", "lower bound \(lower) is above upper bound \(upper)") }
            features.append(ModelFeature(expression: expression, weight: weight, mean: mean, std: std, clipLower: lower, clipUpper: upper))
        }
        return features
    }

    private static func decodeTraining(_ reader: JSONObjectReader) throws(ModelFileError) -> TrainingSummary {
        try reader.rejectUnknownKeys(allowed: [
            "input", "train_rows", "validation_rows", "fraud_rate", "train_from", "train_to",
            "validation_from", "validation_to", "seed", "l2", "class_weight", "iterations", "stop_reason",
        ])
        let classWeight = try reader.classWeighting("class_weight")
        let l2 = try reader.nonNegativeFinite("l2")
        var seed: UInt64?
        if let value = reader.fields["seed"], value != .null { seed = UInt64(try reader.nonNegativeInteger("seed")) }
        return TrainingSummary(
            input: try reader.string("input"),
            trainRows: try reader.nonNegativeInteger("train_rows"),
            validationRows: try reader.nonNegativeInteger("validation_rows"),
            fraudRate: try reader.probability("fraud_rate"),
            trainFrom: try reader.time("train_from"), trainTo: try reader.time("train_to"),
            validationFrom: try reader.time("validation_from"), validationTo: try reader.time("validation_to"),
            seed: seed, l2: l2, classWeight: classWeight,
            iterations: try reader.nonNegativeInteger("iterations"),
            stopReason: try reader.string("stop_reason")
        )
    }

    private static func decodeEvaluation(_ reader: JSONObjectReader) throws(ModelFileError) -> EvaluationSummary {
        try reader.rejectUnknownKeys(allowed: ["rows", "auc_roc", "auc_pr", "log_loss"])
        return EvaluationSummary(
            rows: try reader.nonNegativeInteger("rows"),
            aucROC: reader.fields["auc_roc"] == .null ? nil : try reader.probability("auc_roc"),
            aucPR: reader.fields["auc_pr"] == .null ? nil : try reader.probability("auc_pr"),
            logLoss: try reader.finite("log_loss")
        )
    }

    private static func isNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."): true
        default: false
        }
    }
}
