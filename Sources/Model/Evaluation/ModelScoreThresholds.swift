/// The numbers a rules file compares `model_score` with (`review if model_score >= 0.7`): the
/// operating points `waqiti evaluate --rules` reports precision and recall at. Read from the
/// text (comments after `#` ignored), so it works for any rule shape that names the score.
public enum ModelScoreThresholds {
    public static func find(inRules text: String) -> [Double] {
        var found: [Double] = []
        for line in text.split(separator: "\n") {
            let code = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            var rest = code[...]
            while let range = rest.range(of: "model_score") {
                rest = rest[range.upperBound...]
                let afterOperator = rest.drop { " <>=!".contains($0) }
                guard afterOperator.startIndex != rest.startIndex else { continue }
                let number = afterOperator.prefix { $0.isNumber || $0 == "." }
                if let value = Double(number), (0...1).contains(value), !found.contains(value) { found.append(value) }
            }
        }
        return found.sorted()
    }
}
