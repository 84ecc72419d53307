import FraudCore
import Reporting
import Testing
@testable import Replay

/// The comparison's text and report show both sides of every summary metric with the change.
@Suite("Comparison text and report")
struct ComparisonTextTests {
    static func comparison() -> (ReplayComparison, ReplaySummaryBuilder, ReplaySummaryBuilder) {
        let b = SummaryTests.sample(), c = SummaryTests.sample(p2Declined: true)
        var diff = DecisionDiffBuilder()
        let p2 = Fixtures.event("p2", minute: 0, label: .fraud, scenario: "card_testing", amount: 700)
        diff.add(p2, baseline: Fixtures.decision(p2, .approve, shadow: ["new_idea"]), candidate: Fixtures.decision(p2, .decline, rules: ["card_velocity"], shadow: ["new_idea"]))
        return (ReplayComparison(baseline: b.summary(), candidate: c.summary(), diff: diff.diff()), b, c)
    }

    /// The whitespace-separated cells of the row starting with `first` after the line `heading`.
    static func row(_ first: String, after heading: String, in text: String) throws -> [String] {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let start = try #require(lines.firstIndex(of: heading), "no line '\(heading)'")
        let line = try #require(lines[(start + 1)...].first { $0.hasPrefix("  " + first + " ") }, "no row '\(first)' after '\(heading)'")
        return line.split(separator: " ").map(String.init)
    }

    @Test("the comparison text has both sides' rule hits, caught amounts, recall per scenario, review metrics and the rejected lines")
    func text() throws {
        let text = SummaryText.render(Self.comparison().0)
        #expect(text.hasPrefix("events     6 (2 rejected lines)  2026-01-01T00:00:00.000Z … 2026-01-01T00:02:00.000Z\n"))
        #expect(try Self.row("review", after: "baseline   rules-1 / model model-1", in: text) == ["review", "1", "1", "0"])
        #expect(text.contains("  review precision "))
        #expect(text.contains("  review recall "))
        #expect(try Self.row("USD", after: "caught fraud amount (minor units; caught = declined + reviewed)", in: text) == ["USD", "1,200", "500", "1,200", "+700", "41.7%", "100.0%"])
        #expect(try Self.row("EUR", after: "caught fraud amount (minor units; caught = declined + reviewed)", in: text) == ["EUR", "9,000", "9,000", "9,000", "0", "100.0%", "100.0%"])
        #expect(try Self.row("card_testing", after: "recall by fraud scenario (metadata.scenario; decline or review)", in: text) == ["card_testing", "2", "50.0%", "100.0%", "+50.0", "pt", "50.0%", "100.0%"])
        #expect(try Self.row("card_velocity", after: "rule hits", in: text) == ["card_velocity", "decline", "3", "4", "+1", "0.6667", "0.7500"])
        #expect(try Self.row("new_idea", after: "rule hits", in: text) == ["new_idea", "review", "(shadow)", "2", "2", "0", "0.5000", "0.5000"])
        #expect(try Self.row("card_velocity", after: "rules whose matches or effect (action, points, shadow) changed", in: text) == ["card_velocity", "0", "1", "0", "approve→decline", "1"])
    }

    @Test("the comparison report's side-by-side tables have review metrics, caught amounts and recall per scenario of both sides")
    func report() throws {
        let (comparison, b, c) = Self.comparison()
        let html = ReplayReport(run: ReplayRun(name: "A.rules", summary: comparison.baseline, scores: b.scores),
                                candidate: ReplayRun(name: "B.rules", summary: comparison.candidate, scores: c.scores), diff: comparison.diff, source: "x").html()
        let side = try ReportTests.cells(of: "side-by-side", in: html)
        #expect(side.map { $0[0] }.contains("review precision"))
        #expect(side.first { $0[0] == "review recall" } == ["review recall", "0.3333", "0.3333", "0.0000"])
        #expect(try ReportTests.cells(of: "amounts-side-by-side", in: html) == [
            ["EUR", "9,000", "9,000", "9,000", "0", "100.0%", "100.0%"],
            ["USD", "1,200", "500", "1,200", "+700", "41.7%", "100.0%"],
        ])
        #expect(try ReportTests.cells(of: "scenarios-side-by-side", in: html) == [
            ["account_takeover", "1", "100.00%", "100.00%", "0.0", "0.00%", "0.00%"],
            ["card_testing", "2", "50.00%", "100.00%", "+50.0", "50.00%", "100.00%"],
        ])
        #expect(try ReportTests.cells(of: "rule-changes", in: html) == [["card_velocity", "0", "1", "0", "approve→decline 1", "p2"]])
        #expect(html.contains("rejected lines"))
    }
}
