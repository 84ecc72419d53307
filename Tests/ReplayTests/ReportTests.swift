import FraudCore
import Reporting
import Testing
@testable import Replay

@Suite("HTML report")
struct ReportTests {
    /// The text of every cell of the table with `id`, row by row.
    static func cells(of id: String, in html: String) throws -> [[String]] {
        let start = try #require(html.range(of: "<table id=\"\(id)\">"))
        let end = try #require(html.range(of: "</table>", range: start.upperBound..<html.endIndex))
        let body = html[start.upperBound..<end.lowerBound]
        let rows = body.components(separatedBy: "<tr>").dropFirst(2)  // skip the header row
        return rows.map { row in
            row.components(separatedBy: "<td").dropFirst().map { cell in
                let open = cell.firstIndex(of: ">")!
                return String(cell[cell.index(after: open)..<cell.range(of: "</td>")!.lowerBound])
            }
        }
    }

    @Test("the report is one self-contained page whose tables carry the summary's numbers")
    func reportMatchesSummary() throws {
        let builder = SummaryTests.sample()
        let summary = builder.summary()
        let html = ReplayReport(run: ReplayRun(name: "baseline", summary: summary, scores: builder.scores), source: "input.jsonl").html()
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(!html.contains("http://") || html.components(separatedBy: "http://").count - 1 == html.components(separatedBy: "xmlns=\"http://www.w3.org/2000/svg\"").count - 1)
        #expect(!html.contains("<script"))
        #expect(!html.contains("https://"))
        for chart in ["timeline", "flagged-timeline", "score-distribution", "roc", "precision-recall"] {
            #expect(html.contains("<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"\(chart)\""), "chart \(chart)")
        }
        #expect(try Self.cells(of: "outcomes", in: html) == [["approve", "3", "50.00%"], ["review", "1", "16.67%"], ["decline", "2", "33.33%"]])
        #expect(try Self.cells(of: "confusion", in: html) == [["fraud", "1", "1", "1", "3"], ["legit", "1", "0", "1", "2"]])
        #expect(try Self.cells(of: "metrics", in: html)[2] == ["decline or review", "0.6667", "0.6667", "0.6667", "0.50000", "2", "1"])
        #expect(try Self.cells(of: "rules", in: html) == [
            ["card_velocity", "decline", "3", "2", "1", "0.6667"],
            ["never_fires", "review", "0", "0", "0", "–"],
            ["new_idea", "review (shadow)", "2", "1", "1", "0.5000"],
        ])
        #expect(try Self.cells(of: "amounts", in: html) == [["EUR", "9,000", "0", "9,000", "9,000", "100.0%"], ["USD", "1,200", "500", "0", "500", "41.7%"]])
        #expect(try Self.cells(of: "scenarios", in: html)[1] == ["card_testing", "2", "1", "0", "1", "50.00%", "50.00%"])
    }

    @Test("a comparison report shows the flips and both runs' rule tables")
    func comparison() throws {
        let builder = SummaryTests.sample()
        var diffBuilder = DecisionDiffBuilder()
        let event = Fixtures.event("p9", label: .fraud)
        diffBuilder.add(event, baseline: Fixtures.decision(event, .approve), candidate: Fixtures.decision(event, .decline, rules: ["r"]))
        let run = ReplayRun(name: "A.rules", summary: builder.summary(), scores: builder.scores)
        let html = ReplayReport(run: run, candidate: ReplayRun(name: "B.rules", summary: builder.summary(), scores: builder.scores), diff: diffBuilder.diff(), source: "x").html()
        #expect(try Self.cells(of: "flips", in: html) == [["approve", "decline", "1", "p9"]])
        #expect(try Self.cells(of: "rule-changes", in: html) == [["r", "0", "1", "0", "approve→decline 1", "p9"]])
        #expect(html.contains("<table id=\"candidate-rules\">"))
        #expect(html.contains("<h2>What changed: A.rules → B.rules</h2>"))
    }

    @Test("the same inputs give a byte-identical page")
    func deterministic() {
        let builder = SummaryTests.sample()
        let make = { ReplayReport(run: ReplayRun(name: "r", summary: builder.summary(), scores: builder.scores), source: "s").html() }
        #expect(make() == make())
    }

    @Test("markup escapes and formats without locale", arguments: [
        (0.12345, 3, "0.123"), (2.0, 1, "2.0"), (-0.0004, 3, "0.000"), (-1.25, 1, "-1.3"), (1234.5, 0, "1235"), (Double.nan, 2, "–"),
    ])
    func fixed(value: Double, decimals: Int, text: String) {
        #expect(Markup.fixed(value, decimals) == text)
    }

    @Test("escaping and grouping")
    func escaping() {
        #expect(Markup.escape("<a href=\"x\">&'") == "&lt;a href=&quot;x&quot;&gt;&amp;&#39;")
        #expect(Markup.grouped(1_234_567) == "1,234,567")
        #expect(Markup.grouped(-1_000) == "-1,000")
        #expect(Markup.grouped(999) == "999")
    }

    @Test("a legend too wide for one row wraps onto a second, and the plot starts below it")
    func legendWraps() {
        let curve = { (name: String) in SVGChart.Curve(name: name, color: "#123456", points: [(0, 0), (1, 1)]) }
        let short = SVGChart(.unitCurves([curve("A AUC 0.90"), curve("B AUC 0.91")], diagonal: false), xLabel: "x", yLabel: "y").svg()
        #expect(short.contains(#"y="14" dominant-baseline="middle">B AUC 0.91</text>"#))
        #expect(short.contains(#"<rect x="58" y="28" width="488" height="228""#))

        // A comparison's two sides, named by their paths: 48 and 45 characters at 6.5 px do not
        // fit side by side in 560 px.
        let long = SVGChart(.unitCurves([curve("rules/default.rules + default.json AUC 0.9783"), curve("cmp/default.rules + default.json AUC 0.9781")],
                                        diagonal: false), xLabel: "x", yLabel: "y").svg()
        #expect(long.contains(#"y="14" dominant-baseline="middle">rules/default.rules + default.json AUC 0.9783</text>"#))
        #expect(long.contains(#"y="30" dominant-baseline="middle">cmp/default.rules + default.json AUC 0.9781</text>"#))
        #expect(long.contains(#"<rect x="58" y="44" width="488" height="212""#))
    }
}
