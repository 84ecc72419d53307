/// A self-contained HTML report: inline CSS and SVG only, no scripts, fonts or links to fetch,
/// so it opens offline, can be mailed or archived, and renders the same everywhere.
public struct HTMLPage: Sendable {
    /// One block of the page, in order.
    public enum Block: Sendable {
        case heading(String)
        case paragraph(String)
        /// Label/value pairs shown as a row of tiles (headline numbers).
        case tiles([(label: String, value: String)])
        case table(Table)
        /// An SVG chart with its caption.
        case chart(SVGChart, caption: String)
        /// Several charts side by side (wrapping on narrow screens).
        case chartRow([(chart: SVGChart, caption: String)])
        /// Preformatted text (commands, file names).
        case code(String)
    }

    public var title: String
    public var subtitle: String?
    public var blocks: [Block] = []

    public init(title: String, subtitle: String? = nil) {
        self.title = title
        self.subtitle = subtitle
    }

    public mutating func append(_ block: Block) { blocks.append(block) }

    public func html() -> String {
        var out = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(Markup.escape(title))</title>
        <style>\(Self.css)</style>
        </head><body><main>
        <h1>\(Markup.escape(title))</h1>

        """
        if let subtitle { out += "<p class=\"subtitle\">\(Markup.escape(subtitle))</p>\n" }
        for block in blocks {
            switch block {
            case .heading(let text):
                out += "<h2>\(Markup.escape(text))</h2>\n"
            case .paragraph(let text):
                out += "<p>\(Markup.escape(text))</p>\n"
            case .tiles(let tiles):
                out += "<div class=\"tiles\">"
                for tile in tiles {
                    out += "<div class=\"tile\"><div class=\"value\">\(Markup.escape(tile.value))</div><div class=\"label\">\(Markup.escape(tile.label))</div></div>"
                }
                out += "</div>\n"
            case .table(let table):
                out += table.html() + "\n"
            case .chart(let chart, let caption):
                out += figure(chart, caption) + "\n"
            case .chartRow(let charts):
                out += "<div class=\"row\">" + charts.map { figure($0.chart, $0.caption) }.joined() + "</div>\n"
            case .code(let text):
                out += "<pre>\(Markup.escape(text))</pre>\n"
            }
        }
        return out + "</main></body></html>\n"
    }

    private func figure(_ chart: SVGChart, _ caption: String) -> String {
        "<figure>\(chart.svg())<figcaption>\(Markup.escape(caption))</figcaption></figure>"
    }

    static let css = """
    body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2330;background:#f6f7f9;margin:0}\
    main{max-width:1180px;margin:0 auto;padding:24px 32px 48px}\
    h1{font-size:24px;margin:8px 0 4px}h2{font-size:18px;margin:32px 0 10px;border-bottom:1px solid #d9dde3;padding-bottom:4px}\
    .subtitle{color:#5b6472;margin-top:0}\
    .tiles{display:flex;flex-wrap:wrap;gap:12px}.tile{background:#fff;border:1px solid #d9dde3;border-radius:6px;padding:10px 14px;min-width:120px}\
    .tile .value{font-size:20px;font-weight:600;font-variant-numeric:tabular-nums}.tile .label{font-size:12px;color:#5b6472}\
    table{border-collapse:collapse;background:#fff;margin:8px 0 16px;font-size:13px}\
    caption{text-align:left;font-weight:600;padding:4px 0}\
    th,td{border:1px solid #d9dde3;padding:4px 8px;text-align:left}th{background:#eef0f3}\
    td.num{text-align:right;font-variant-numeric:tabular-nums}td.good{color:#1a7f37}td.bad{color:#c62828}td.muted{color:#8a93a0}\
    figure{margin:8px 0 16px;background:#fff;border:1px solid #d9dde3;border-radius:6px;padding:8px;display:inline-block}\
    figcaption{font-size:12px;color:#5b6472;padding-top:4px}.row{display:flex;flex-wrap:wrap;gap:12px}\
    pre{background:#fff;border:1px solid #d9dde3;padding:8px;font-size:12px;overflow-x:auto}\
    svg text{font-family:system-ui,sans-serif;font-size:11px;fill:#3b4350}
    """
}
