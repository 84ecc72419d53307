#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An inline SVG chart: fixed pixel size, axes with ticks, a legend, no scripts.
public struct SVGChart: Sendable {
    /// A named series with its colour (any SVG colour; `Palette` has the report's).
    public struct Series: Sendable {
        public var name: String
        public var color: String
        public var values: [Double]

        public init(name: String, color: String, values: [Double]) {
            self.name = name
            self.color = color
            self.values = values
        }
    }

    /// A named polyline in data coordinates.
    public struct Curve: Sendable {
        public var name: String
        public var color: String
        public var points: [(x: Double, y: Double)]
        public var dashed: Bool

        public init(name: String, color: String, points: [(x: Double, y: Double)], dashed: Bool = false) {
            self.name = name
            self.color = color
            self.points = points
            self.dashed = dashed
        }
    }

    public enum Kind: Sendable {
        /// Series stacked on top of each other over `labels` (one x position per label), e.g.
        /// the decision mix per time bucket. Only every few labels are printed. One label is
        /// drawn as a stacked bar in the middle (an area over one x position has no width).
        case stackedArea(labels: [String], series: [Series])
        /// Series drawn as separate lines over `labels`, not stacked: for series that overlap
        /// (flagged decisions and labeled fraud count some of the same events). One label is
        /// drawn as dots.
        case lines(labels: [String], series: [Series])
        /// Series drawn as step outlines over the bin edges `edges` (`values.count == edges.count - 1`).
        case histogram(edges: [Double], series: [Series], logScale: Bool)
        /// Curves on the unit square (ROC, precision-recall); `diagonal` draws the chance line.
        case unitCurves([Curve], diagonal: Bool)
    }

    public var kind: Kind
    public var xLabel: String
    public var yLabel: String
    public var width: Int
    public var height: Int
    /// Optional id on the `<svg>` element for scripts and tests.
    public var id: String?

    public init(_ kind: Kind, xLabel: String, yLabel: String, width: Int = 560, height: Int = 300, id: String? = nil) {
        self.kind = kind
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.width = width
        self.height = height
        self.id = id
    }

    public func svg() -> String {
        let legend: [SVGCanvas.LegendEntry] = switch kind {
        case .stackedArea(_, let series), .lines(_, let series), .histogram(_, let series, _): series.map { ($0.name, $0.color, false) }
        case .unitCurves(let curves, _): curves.map { ($0.name, $0.color, $0.dashed) }
        }
        var canvas = SVGCanvas(width: Double(width), height: Double(height), legend: legend)
        switch kind {
        case .stackedArea(let labels, let series): drawStackedArea(&canvas, labels: labels, series: series)
        case .lines(let labels, let series): drawLines(&canvas, labels: labels, series: series)
        case .histogram(let edges, let series, let logScale): drawHistogram(&canvas, edges: edges, series: series, logScale: logScale)
        case .unitCurves(let curves, let diagonal): drawUnitCurves(&canvas, curves: curves, diagonal: diagonal)
        }
        canvas.axisTitles(x: xLabel, y: yLabel)
        let idAttribute = id.map { " id=\"\(Markup.escape($0))\"" } ?? ""
        return "<svg xmlns=\"http://www.w3.org/2000/svg\"\(idAttribute) width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\" role=\"img\">"
            + canvas.body + "</svg>"
    }

    private func drawStackedArea(_ canvas: inout SVGCanvas, labels: [String], series: [Series]) {
        let count = labels.count
        var totals = [Double](repeating: 0, count: count)
        for s in series { for (i, v) in s.values.prefix(count).enumerated() { totals[i] += v } }
        let top = SVGCanvas.niceCeiling(totals.max() ?? 0)
        canvas.frame(yTicks: SVGCanvas.ticks(upTo: top).map { ($0, $0 / top, countLabel($0)) })
        let step = count > 1 ? 1 / Double(count - 1) : 0
        func x(_ i: Int) -> Double { count > 1 ? Double(i) * step : 0.5 }
        var base = [Double](repeating: 0, count: count)
        for s in series {
            var upper = base
            for i in 0..<count { upper[i] += i < s.values.count ? s.values[i] : 0 }
            var points: [(Double, Double)]
            if count == 1 {
                // One bucket: a bar (an area at one x position is a zero-width polygon).
                points = [(0.4, base[0] / top), (0.6, base[0] / top), (0.6, upper[0] / top), (0.4, upper[0] / top)]
            } else {
                points = (0..<count).map { (x($0), upper[$0] / top) }
                points += (0..<count).reversed().map { (x($0), base[$0] / top) }
            }
            canvas.polygon(points, fill: s.color)
            base = upper
        }
        xTicks(&canvas, labels: labels, x: x)
    }

    private func drawLines(_ canvas: inout SVGCanvas, labels: [String], series: [Series]) {
        let count = labels.count
        let top = SVGCanvas.niceCeiling(series.flatMap { $0.values.prefix(count) }.max() ?? 0)
        canvas.frame(yTicks: SVGCanvas.ticks(upTo: top).map { ($0, $0 / top, countLabel($0)) })
        func x(_ i: Int) -> Double { count > 1 ? Double(i) / Double(count - 1) : 0.5 }
        for s in series {
            let points = (0..<count).map { (x($0), ($0 < s.values.count ? s.values[$0] : 0) / top) }
            if count == 1 { canvas.dot(points[0], fill: s.color) } else { canvas.polyline(points, stroke: s.color, dashed: false, fillOpacity: 0) }
        }
        xTicks(&canvas, labels: labels, x: x)
    }

    private func xTicks(_ canvas: inout SVGCanvas, labels: [String], x: (Int) -> Double) {
        let labelEvery = max(1, (labels.count + 7) / 8)
        for i in stride(from: 0, to: labels.count, by: labelEvery) { canvas.xTick(at: x(i), label: labels[i]) }
    }

    private func drawHistogram(_ canvas: inout SVGCanvas, edges: [Double], series: [Series], logScale: Bool) {
        guard edges.count >= 2 else { return }
        let lo = edges.first!, hi = edges.last!
        let peak = series.flatMap(\.values).max() ?? 0
        let transform: (Double) -> Double
        if logScale {
            let decades = max(1, (peak > 0 ? log10Ceiling(peak) : 1))
            transform = { $0 <= 0 ? 0 : max(0, log10($0) + 1) / Double(decades + 1) }
            canvas.frame(yTicks: (0...decades).map { d in (Double(d), Double(d + 1) / Double(decades + 1), pow10Label(d)) })
        } else {
            let top = SVGCanvas.niceCeiling(peak)
            transform = { $0 / top }
            canvas.frame(yTicks: SVGCanvas.ticks(upTo: top).map { ($0, $0 / top, Markup.fixed($0, top < 10 ? 2 : 0)) })
        }
        func x(_ edge: Double) -> Double { (edge - lo) / (hi - lo) }
        for s in series {
            var points: [(Double, Double)] = [(0, 0)]
            for (i, value) in s.values.enumerated() where i + 1 < edges.count {
                let y = transform(value)
                points.append((x(edges[i]), y))
                points.append((x(edges[i + 1]), y))
            }
            points.append((1, 0))
            canvas.polyline(points, stroke: s.color, dashed: false, fillOpacity: 0.15)
        }
        for tick in SVGCanvas.ticks(upTo: hi - lo) { canvas.xTick(at: tick / (hi - lo), label: Markup.fixed(lo + tick, 1)) }
    }

    private func drawUnitCurves(_ canvas: inout SVGCanvas, curves: [Curve], diagonal: Bool) {
        let ticks = [0, 0.2, 0.4, 0.6, 0.8, 1.0]
        canvas.frame(yTicks: ticks.map { ($0, $0, Markup.fixed($0, 1)) })
        for tick in ticks { canvas.xTick(at: tick, label: Markup.fixed(tick, 1)) }
        if diagonal { canvas.polyline([(0, 0), (1, 1)], stroke: "#9aa3ae", dashed: true, fillOpacity: 0) }
        for curve in curves {
            canvas.polyline(curve.points.map { ($0.x, $0.y) }, stroke: curve.color, dashed: curve.dashed, fillOpacity: 0)
        }
    }
}

/// The report's colours: outcomes and classes keep the same colour in every chart.
public enum Palette {
    public static let approve = "#4caf50"
    public static let review = "#ffb300"
    public static let decline = "#e53935"
    public static let fraud = "#c62828"
    public static let legit = "#1e88e5"
    public static let unlabeled = "#8a93a0"
    public static let baseline = "#1e88e5"
    public static let candidate = "#8e24aa"
}

/// A count axis tick: whole numbers grouped, others to two decimals (an axis to 1 or 5 has
/// ticks at 0.25 or 1.25, which printed as whole numbers read 0, 0, 0, 0, 1 and 0, 1, 2, 3, 5).
private func countLabel(_ value: Double) -> String {
    value == value.rounded() ? Markup.grouped(Int(value)) : Markup.coordinate(value)
}

private func log10Ceiling(_ value: Double) -> Int {
    var decades = 0
    var bound = 1.0
    while bound < value { bound *= 10; decades += 1 }
    return decades
}

private func pow10Label(_ decades: Int) -> String {
    var value = 1
    for _ in 0..<decades { value *= 10 }
    return Markup.grouped(value)
}
