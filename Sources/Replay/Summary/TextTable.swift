/// Columns aligned with spaces for the terminal: the first column left-aligned, the others right.
/// Cells are made terminal-safe (`SummaryText.terminalSafe`): payment ids and scenarios come from
/// the input, and an escape sequence in one changed the terminal's title.
struct TextTable {
    var header: [String]
    var rows: [[String]] = []

    init(_ header: [String]) { self.header = header.map(SummaryText.terminalSafe) }

    mutating func add(_ row: [String]) { rows.append(row.map(SummaryText.terminalSafe)) }

    func render(indent: String = "  ") -> String {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0.indices.contains(column) ? $0[column].count : 0 }.max() ?? 0 }
        return all.map { row in
            indent + row.enumerated().map { column, text in
                let pad = String(repeating: " ", count: widths[column] - text.count)
                return column == 0 ? text + pad : pad + text
            }.joined(separator: "  ")
        }.joined(separator: "\n") + "\n"
    }
}
