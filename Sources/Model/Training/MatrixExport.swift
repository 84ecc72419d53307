import Foundation
import FraudCore

/// `waqiti train --export-matrix FILE`: the training matrix as CSV for outside tools (the
/// scikit-learn parity check). Header: the feature expressions, then `label` (1 = fraud) and
/// `split` (`train` | `valid`). One row per labeled event in replay order, raw values before
/// clipping and standardization; a missing value is an empty field.
public enum MatrixExport {
    public static func write(_ matrix: LabeledMatrix, split: TimeSplit, to path: String) throws(FileIOError) {
        var isValidation = [Bool](repeating: false, count: matrix.rows)
        for row in split.validationRows { isValidation[row] = true }
        let output = try FileOutput(path: path)
        let header = (matrix.featureNames.map(quoted) + ["label", "split"]).joined(separator: ",") + "\n"
        try output.write(Array(header.utf8))
        for row in 0..<matrix.rows {
            try output.append { bytes in
                for column in 0..<matrix.columns {
                    let value = matrix[row, column]
                    if !value.isNaN { bytes.append(contentsOf: value.description.utf8) }
                    bytes.append(UInt8(ascii: ","))
                }
                bytes.append(contentsOf: (matrix.labels[row] ? "1," : "0,").utf8)
                bytes.append(contentsOf: (isValidation[row] ? "valid\n" : "train\n").utf8)
            }
        }
        try output.close()
    }

    /// RFC 4180 quoting: expressions hold commas and double quotes (`count(ip, 1h)`, `channel == "ecom"`).
    static func quoted(_ field: String) -> String {
        "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
