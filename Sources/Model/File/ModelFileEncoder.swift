import FraudCore

/// Writes a `LogisticModel` as a model file: stable key order, one feature per line, numbers in
/// their shortest exact form, so a retrained model diffs readably in review.
public enum ModelFileEncoder {
    public static func encode(_ model: LogisticModel) -> String {
        let t = model.training, e = model.evaluation
        var out = "{\n"
        out += "  \"format_version\": \(LogisticModel.formatVersion),\n"
        out += "  \"name\": \(quoted(model.name)),\n"
        out += "  \"content_hash\": \(quoted("sha256:" + model.contentHash)),\n"
        out += "  \"bias\": \(number(model.bias)),\n"
        out += "  \"features\": [\n"
        out += model.features.map { feature in
            "    {\"expression\": \(quoted(feature.expression)), \"weight\": \(number(feature.weight)), "
                + "\"mean\": \(number(feature.mean)), \"std\": \(number(feature.std)), "
                + "\"clip\": [\(number(feature.clipLower)), \(number(feature.clipUpper))]}"
        }.joined(separator: ",\n")
        out += "\n  ],\n"
        out += "  \"training\": {\n"
        out += [
            "\"input\": \(quoted(t.input))",
            "\"train_rows\": \(t.trainRows)",
            "\"validation_rows\": \(t.validationRows)",
            "\"fraud_rate\": \(number(t.fraudRate))",
            "\"train_from\": \(quoted(t.trainFrom.description))",
            "\"train_to\": \(quoted(t.trainTo.description))",
            "\"validation_from\": \(quoted(t.validationFrom.description))",
            "\"validation_to\": \(quoted(t.validationTo.description))",
            "\"seed\": \(t.seed.map(String.init) ?? "null")",
            "\"l2\": \(number(t.l2))",
            "\"class_weight\": \(quoted(t.classWeight.rawValue))",
            "\"iterations\": \(t.iterations)",
            "\"stop_reason\": \(quoted(t.stopReason))",
        ].map { "    " + $0 }.joined(separator: ",\n")
        out += "\n  },\n"
        out += "  \"evaluation\": {\"rows\": \(e.rows), \"auc_roc\": \(e.aucROC.map(number) ?? "null"), \"auc_pr\": \(e.aucPR.map(number) ?? "null"), \"log_loss\": \(number(e.logLoss))}\n"
        out += "}\n"
        return out
    }

    /// Swift's shortest representation that parses back to the same Double (validated finite).
    static func number(_ value: Double) -> String {
        precondition(value.isFinite, "model file numbers are finite; got \(value)")
        return value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : "\(value)"
    }

    /// A JSON string literal (expressions contain quotes: `channel == "ecom"`).
    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
