/// A small self-contained SVG line or bar chart: axes, ticks, labels and series, no scripts, no
/// external assets, so a report opens anywhere (and in a mail attachment) exactly as written.
struct SVGChart {
    struct Series {
        var name: String
        var color: String
        var points: [(x: Double, y: Double)]
        /// Dashed reference lines (the chance diagonal).
        var dashed = false
    }

    var title: String
    var xLabel: String
    var yLabel: String
    var xRange: ClosedRange<Double> = 0...1
    var yRange: ClosedRange<Double> = 0...1
    var series: [Series]
    /// Draw the series as bars of this width (in x units) instead of lines.
    var barWidth: Double?

    private let width = 420.0, height = 320.0
    private let left = 56.0, right = 16.0, top = 30.0, bottom = 46.0

    func render() -> String {
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" width=\"\(Int(width))\" height=\"\(Int(height))\" role=\"img\" aria-label=\"\(escape(title))\">\n"
        svg += "<text x=\"\(Int(width / 2))\" y=\"18\" text-anchor=\"middle\" font-size=\"14\" font-weight=\"bold\">\(escape(title))</text>\n"
        svg += "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(plotWidth)\" height=\"\(plotHeight)\" fill=\"none\" stroke=\"#888\"/>\n"
        for tick in ticks(xRange) {
            let x = px(tick)
            svg += "<line x1=\"\(f(x))\" y1=\"\(f(top + plotHeight))\" x2=\"\(f(x))\" y2=\"\(f(top + plotHeight + 4))\" stroke=\"#888\"/>"
            svg += "<text x=\"\(f(x))\" y=\"\(f(top + plotHeight + 16))\" text-anchor=\"middle\" font-size=\"10\">\(label(tick))</text>\n"
        }
        for tick in ticks(yRange) {
            let y = py(tick)
            svg += "<line x1=\"\(f(left - 4))\" y1=\"\(f(y))\" x2=\"\(f(left))\" y2=\"\(f(y))\" stroke=\"#888\"/>"
            svg += "<text x=\"\(f(left - 6))\" y=\"\(f(y + 3))\" text-anchor=\"end\" font-size=\"10\">\(label(tick))</text>\n"
        }
        svg += "<text x=\"\(f(left + plotWidth / 2))\" y=\"\(f(height - 8))\" text-anchor=\"middle\" font-size=\"12\">\(escape(xLabel))</text>\n"
        svg += "<text transform=\"translate(14 \(f(top + plotHeight / 2))) rotate(-90)\" text-anchor=\"middle\" font-size=\"12\">\(escape(yLabel))</text>\n"
        for (index, s) in series.enumerated() {
            if let barWidth {
                let share = barWidth / Double(series.count)
                for p in s.points {
                    let x0 = px(p.x + share * Double(index)), x1 = px(p.x + share * Double(index + 1))
                    let y = py(min(p.y, yRange.upperBound))
                    svg += "<rect x=\"\(f(x0))\" y=\"\(f(y))\" width=\"\(f(max(x1 - x0 - 0.5, 0.5)))\" height=\"\(f(top + plotHeight - y))\" fill=\"\(s.color)\" fill-opacity=\"0.75\"/>\n"
                }
            } else {
                let path = s.points.map { "\(f(px($0.x))),\(f(py($0.y)))" }.joined(separator: " ")
                svg += "<polyline points=\"\(path)\" fill=\"none\" stroke=\"\(s.color)\" stroke-width=\"\(s.dashed ? 1 : 2)\"\(s.dashed ? " stroke-dasharray=\"4 4\"" : "")/>\n"
            }
            let legendY = top + 14 + Double(index) * 14
            svg += "<rect x=\"\(f(left + plotWidth - 130))\" y=\"\(f(legendY - 8))\" width=\"10\" height=\"10\" fill=\"\(s.color)\"/>"
            svg += "<text x=\"\(f(left + plotWidth - 116))\" y=\"\(f(legendY + 1))\" font-size=\"11\">\(escape(s.name))</text>\n"
        }
        return svg + "</svg>"
    }

    private var plotWidth: Double { width - left - right }
    private var plotHeight: Double { height - top - bottom }
    private func px(_ x: Double) -> Double { left + (x - xRange.lowerBound) / (xRange.upperBound - xRange.lowerBound) * plotWidth }
    private func py(_ y: Double) -> Double { top + plotHeight - (y - yRange.lowerBound) / (yRange.upperBound - yRange.lowerBound) * plotHeight }
    private func f(_ v: Double) -> String { String(Double(Int((v * 10).rounded())) / 10) }
    private func ticks(_ range: ClosedRange<Double>) -> [Double] {
        (0...5).map { range.lowerBound + Double($0) * (range.upperBound - range.lowerBound) / 5 }
    }
    private func label(_ v: Double) -> String {
        let rounded = (v * 1000).rounded() / 1000
        return rounded == rounded.rounded() ? String(Int(rounded)) : String(rounded)
    }
    private func escape(_ text: String) -> String { HTML.escape(text) }
}

/// HTML text escaping for the reports.
enum HTML {
    static func escape(_ text: String) -> String {
        var out = ""
        for c in text {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(c)
            }
        }
        return out
    }
}

extension Array {
    /// At most `limit` elements, evenly spaced, always keeping the first and the last: curves with
    /// a million thresholds drawn with a few hundred points.
    func thinned(to limit: Int) -> [Element] {
        guard count > limit, limit >= 2 else { return self }
        return (0..<limit).map { self[$0 * (count - 1) / (limit - 1)] }
    }
}
