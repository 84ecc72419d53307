/// Draws in a plot area with the data range mapped to [0, 1] on both axes; owns the margins.
struct SVGCanvas {
    typealias LegendEntry = (name: String, color: String, dashed: Bool)

    let width: Double
    let height: Double
    let left = 58.0, right = 14.0, bottom = 44.0
    /// Below the legend: 28 for one row, 16 more for each row the entries wrap onto.
    let top: Double
    private(set) var body = ""

    static let legendRowHeight = 16.0

    /// Lays the legend out above the plot first, in as many rows as its entries need, so that
    /// long names (a comparison's two file paths) wrap instead of running off the chart.
    init(width: Double, height: Double, legend: [LegendEntry]) {
        self.width = width
        self.height = height
        // An entry is an 18-px swatch, 4 px, its text (~6.5 px a character at the page's font
        // size), then 12 px before the next entry.
        var rows: [[(entry: LegendEntry, x: Double)]] = [[]]
        var x = left
        for entry in legend {
            let textEnd = x + 22 + Double(entry.name.count) * 6.5
            if textEnd > width - right, !rows[rows.count - 1].isEmpty {
                rows.append([])
                x = left
            }
            rows[rows.count - 1].append((entry, x))
            x += 22 + Double(entry.name.count) * 6.5 + 12
        }
        top = 28 + Self.legendRowHeight * Double(rows.count - 1)
        for (row, placed) in rows.enumerated() {
            let y = Markup.coordinate(14 + Self.legendRowHeight * Double(row))
            for (entry, x) in placed {
                let dash = entry.dashed ? " stroke-dasharray=\"4 3\"" : ""
                body += "<line x1=\"\(Markup.coordinate(x))\" y1=\"\(y)\" x2=\"\(Markup.coordinate(x + 18))\" y2=\"\(y)\" stroke=\"\(entry.color)\" stroke-width=\"4\"\(dash)/>"
                body += "<text x=\"\(Markup.coordinate(x + 22))\" y=\"\(y)\" dominant-baseline=\"middle\">\(Markup.escape(entry.name))</text>"
            }
        }
    }

    private var plotWidth: Double { width - left - right }
    private var plotHeight: Double { height - top - bottom }
    private func px(_ x: Double) -> String { Markup.coordinate(left + x * plotWidth) }
    private func py(_ y: Double) -> String { Markup.coordinate(top + (1 - y) * plotHeight) }

    /// Plot border, horizontal grid lines and y tick labels at unit positions.
    mutating func frame(yTicks: [(value: Double, position: Double, label: String)]) {
        body += "<rect x=\"\(Markup.coordinate(left))\" y=\"\(Markup.coordinate(top))\" width=\"\(Markup.coordinate(plotWidth))\" height=\"\(Markup.coordinate(plotHeight))\" fill=\"#fff\" stroke=\"#c9ced6\"/>"
        for tick in yTicks {
            body += "<line x1=\"\(px(0))\" y1=\"\(py(tick.position))\" x2=\"\(px(1))\" y2=\"\(py(tick.position))\" stroke=\"#eceef1\"/>"
            body += "<text x=\"\(Markup.coordinate(left - 6))\" y=\"\(py(tick.position))\" text-anchor=\"end\" dominant-baseline=\"middle\">\(Markup.escape(tick.label))</text>"
        }
    }

    mutating func xTick(at x: Double, label: String) {
        let baseline = Markup.coordinate(top + plotHeight)
        body += "<line x1=\"\(px(x))\" y1=\"\(baseline)\" x2=\"\(px(x))\" y2=\"\(Markup.coordinate(top + plotHeight + 4))\" stroke=\"#9aa3ae\"/>"
        body += "<text x=\"\(px(x))\" y=\"\(Markup.coordinate(top + plotHeight + 16))\" text-anchor=\"middle\">\(Markup.escape(label))</text>"
    }

    mutating func axisTitles(x: String, y: String) {
        body += "<text x=\"\(Markup.coordinate(left + plotWidth / 2))\" y=\"\(Markup.coordinate(height - 6))\" text-anchor=\"middle\">\(Markup.escape(x))</text>"
        let cy = Markup.coordinate(top + plotHeight / 2)
        body += "<text x=\"12\" y=\"\(cy)\" text-anchor=\"middle\" transform=\"rotate(-90 12 \(cy))\">\(Markup.escape(y))</text>"
    }

    mutating func polygon(_ points: [(Double, Double)], fill: String) {
        body += "<polygon points=\"\(path(points))\" fill=\"\(fill)\" fill-opacity=\"0.85\" stroke=\"\(fill)\" stroke-width=\"0.5\"/>"
    }

    mutating func polyline(_ points: [(Double, Double)], stroke: String, dashed: Bool, fillOpacity: Double) {
        let fill = fillOpacity > 0 ? "\(stroke)\" fill-opacity=\"\(Markup.coordinate(fillOpacity))" : "none"
        let dash = dashed ? " stroke-dasharray=\"5 4\"" : ""
        body += "<polyline points=\"\(path(points))\" fill=\"\(fill)\" stroke=\"\(stroke)\" stroke-width=\"1.8\"\(dash)/>"
    }

    /// A dot at a data point (a series of one point, which a line cannot show).
    mutating func dot(_ point: (Double, Double), fill: String) {
        body += "<circle cx=\"\(px(min(max(point.0, 0), 1)))\" cy=\"\(py(min(max(point.1, 0), 1)))\" r=\"4\" fill=\"\(fill)\"/>"
    }

    private func path(_ points: [(Double, Double)]) -> String {
        points.map { "\(px(min(max($0.0, 0), 1))),\(py(min(max($0.1, 0), 1)))" }.joined(separator: " ")
    }

    /// The smallest 1, 2 or 5 × 10ⁿ at or above `value` (1 for zero), so axes end on round numbers.
    static func niceCeiling(_ value: Double) -> Double {
        guard value > 0 else { return 1 }
        var magnitude = 1.0
        while magnitude * 10 <= value { magnitude *= 10 }
        while magnitude > value { magnitude /= 10 }
        for step in [1.0, 2.0, 5.0, 10.0] where step * magnitude >= value { return step * magnitude }
        return 10 * magnitude
    }

    /// Five evenly spaced ticks from 0 to `top`.
    static func ticks(upTo top: Double) -> [Double] {
        (0...4).map { top * Double($0) / 4 }
    }
}
