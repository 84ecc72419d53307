/// An HTML table: a header row and body rows of cells, numbers right-aligned.
public struct Table: Sendable, Equatable {
    /// One cell: its text, and whether it is a number (right-aligned, tabular digits).
    public struct Cell: Sendable, Equatable, ExpressibleByStringLiteral {
        public var text: String
        public var numeric: Bool
        /// An optional CSS class (`good`, `bad`, `muted`) for emphasis.
        public var style: String?

        public init(_ text: String, numeric: Bool = false, style: String? = nil) {
            self.text = text
            self.numeric = numeric
            self.style = style
        }

        public init(stringLiteral value: String) { self.init(value) }

        public static func number(_ value: Int) -> Cell { Cell(Markup.grouped(value), numeric: true) }
        public static func number(_ text: String) -> Cell { Cell(text, numeric: true) }
    }

    public var caption: String?
    public var header: [String]
    public var rows: [[Cell]]
    /// Optional machine-readable id, so tests and scripts can find a table in the page.
    public var id: String?

    public init(caption: String? = nil, header: [String], rows: [[Cell]], id: String? = nil) {
        self.caption = caption
        self.header = header
        self.rows = rows
        self.id = id
    }

    public func html() -> String {
        var out = "<table" + (id.map { " id=\"\(Markup.escape($0))\"" } ?? "") + ">"
        if let caption { out += "<caption>\(Markup.escape(caption))</caption>" }
        out += "<thead><tr>" + header.map { "<th>\(Markup.escape($0))</th>" }.joined() + "</tr></thead><tbody>"
        for row in rows {
            out += "<tr>"
            for cell in row {
                var classes: [String] = []
                if cell.numeric { classes.append("num") }
                if let style = cell.style { classes.append(style) }
                let attribute = classes.isEmpty ? "" : " class=\"\(classes.joined(separator: " "))\""
                out += "<td\(attribute)>\(Markup.escape(cell.text))</td>"
            }
            out += "</tr>"
        }
        return out + "</tbody></table>"
    }
}
