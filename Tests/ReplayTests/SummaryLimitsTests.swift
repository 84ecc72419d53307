import Foundation
import FraudCore
import Reporting
import Testing
@testable import Replay

/// Inputs at the edges: sums past Int64, a ten-millennium span of event times, escape sequences
/// in input values, a replay within one timeline bucket.
@Suite("Summary limits")
struct SummaryLimitsTests {
    /// 9,300 fraud payments of 10^15 JPY summed to 9.3 × 10^18, past Int64.max (≈ 9.22 × 10^18):
    /// `waqiti replay` stopped with `arithmetic overflow` (exit 132).
    @Test("fraud amounts past Int64.max are summed exactly in the summary, its JSON, text and report")
    func amountsPastInt64() throws {
        var builder = ReplaySummaryBuilder()
        let jpy = try #require(Currency("JPY"))
        for index in 0..<9_300 {
            let event = Fixtures.event("p\(index)", label: .fraud, scenario: "big", amount: 1_000_000_000_000_000, currency: jpy)
            builder.add(event, Fixtures.decision(event, index < 9_000 ? .decline : .review))
        }
        let summary = builder.summary()
        let amounts = try #require(summary.labels?.fraudAmounts)
        #expect(amounts == [CurrencyAmounts(currency: "JPY", fraudMinor: 9_300_000_000_000_000_000, declinedMinor: 9_000_000_000_000_000_000, reviewedMinor: 300_000_000_000_000_000)])
        #expect(amounts[0].caughtMinor == 9_300_000_000_000_000_000)
        let json = String(decoding: try SummaryJSON.encode(summary), as: UTF8.self)
        #expect(json.contains("\"fraud_minor\" : 9300000000000000000"))
        #expect(json.contains("\"caught_minor\" : 9300000000000000000"))
        #expect(try SummaryJSON.decode(ReplaySummary.self, from: SummaryJSON.encode(summary)) == summary)
        let text = SummaryText.render(summary)
        #expect(try ComparisonTextTests.row("JPY", after: "caught fraud amount (minor units)", in: text)
            == ["JPY", "9,300,000,000,000,000,000", "9,000,000,000,000,000,000", "300,000,000,000,000,000", "9,300,000,000,000,000,000", "100.0%"])
        let html = ReplayReport(run: ReplayRun(name: "a", summary: summary, scores: builder.scores), source: "x").html()
        #expect(try ReportTests.cells(of: "amounts", in: html) == [["JPY", "9,300,000,000,000,000,000", "9,000,000,000,000,000,000", "300,000,000,000,000,000", "9,300,000,000,000,000,000", "100.0%"]])
    }

    /// Bucket sizes stopped at a week: events dated 0001-01-01 and 9999-12-31 made 521,724
    /// buckets (a 102 MB summary JSON, 746 MB of memory).
    @Test("events ten thousand years apart fit in 101 buckets of 100 × 365 days")
    func timelineOverMillennia() throws {
        let early = try #require(RFC3339.parse("0001-01-01T00:00:00.000Z")), late = try #require(RFC3339.parse("9999-12-31T23:59:59.999Z"))
        var timeline = DecisionTimeline()
        timeline.add(time: early, outcome: .approve, isFraud: false)
        timeline.add(time: late, outcome: .decline, isFraud: true)
        let buckets = timeline.buckets(maxBuckets: 120)
        #expect(buckets.count == 101)
        #expect(Set(buckets.map(\.minutes)) == [52_560_000])
        #expect(RFC3339.format(buckets[0].start) == "0001-01-01T00:00:00.000Z")
        #expect(buckets[0].outcomes == OutcomeCounts(approve: 1))
        #expect(buckets[100].outcomes == OutcomeCounts(decline: 1))
        #expect(buckets[100].fraud == 1)
        #expect(buckets.dropFirst().dropLast().allSatisfy { $0.outcomes.total == 0 })
    }

    @Test("bucket sizes grow past a week so that no span gives more than maxBuckets buckets", arguments: [1, 2, 7, 120, 500])
    func bucketCountBounded(maxBuckets: Int) {
        // Spans from a minute to about 20,000 years, in minutes, at awkward alignments.
        for span: Int64 in [0, 59, 10_081, 43_201, 525_601, 5_256_001, 10_000_000_000] {
            for first: Int64 in [-1_035_593_280, -7, 0, 29_000_000] {
                let layout = DecisionTimeline.layout(first: first, last: first + span, maxBuckets: maxBuckets)
                #expect(layout.count <= maxBuckets, "span \(span) from \(first): \(layout)")
                #expect(layout.start <= first && layout.start + Int64(layout.count) * layout.size > first + span)
            }
        }
        #expect(DecisionTimeline.layout(first: 0, last: 119, maxBuckets: 120).size == 1)
        #expect(DecisionTimeline.layout(first: 0, last: 10_080 * 120 - 1, maxBuckets: 120).size == 10_080)
        #expect(DecisionTimeline.layout(first: 0, last: 10_080 * 120, maxBuckets: 120).size == 43_200)
        #expect(DecisionTimeline.layout(first: 0, last: 525_600 * 120, maxBuckets: 120).size == 1_051_200)
    }

    /// A `metadata.scenario` or payment id holding ESC ] 2 ; … BEL changed the terminal's title
    /// when the summary was printed.
    @Test("control characters from the input are written as \\u{…} in the text summary and comparison")
    func escapesInText() throws {
        var builder = ReplaySummaryBuilder()
        let event = Fixtures.event("pay\u{1B}[31m", label: .fraud, scenario: "\u{1B}]2;pwned\u{07}")
        builder.add(event, Fixtures.decision(event, .approve))
        let text = SummaryText.render(builder.summary())
        #expect(!text.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" })
        #expect(text.contains("\\u{1B}]2;pwned\\u{7}"))
        var diff = DecisionDiffBuilder()
        diff.add(event, baseline: Fixtures.decision(event, .approve), candidate: Fixtures.decision(event, .decline, rules: ["r"]))
        let comparison = SummaryText.render(ReplayComparison(baseline: builder.summary(), candidate: builder.summary(), diff: diff.diff()))
        #expect(!comparison.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" })
        #expect(comparison.contains("pay\\u{1B}[31m"))
        #expect(comparison.contains("fraud: \\u{1B}]2;pwned\\u{7}"))
        #expect(SummaryText.terminalSafe("a\u{9B}b\u{7F}é") == "a\\u{9B}b\\u{7F}é")
    }

    /// The too-late count: in the summary, its JSON, the text, the report's tiles, and the warning.
    @Test("events too late for the windows are counted in the summary, its JSON, text and report, with a warning")
    func tooLateReported() throws {
        var builder = SummaryTests.sample()
        builder.addTooLate(36_238)
        let summary = builder.summary()
        #expect(summary.tooLate == 36_238)
        #expect(String(decoding: try SummaryJSON.encode(summary), as: UTF8.self).contains("\"too_late\" : 36238"))
        #expect(SummaryText.render(summary).contains("too late   36,238 events came later than the allowed lateness: decided, but not added to the windows\n"))
        #expect(SummaryText.tooLateWarning(summary, lateness: "5m") == "warning: 36,238 of 6 events came more than the allowed lateness (--lateness 5m) behind the newest event time read before them: each was decided, but not added to the windows, so the features of the events after it leave it out and the decisions differ from a replay in event-time order. Sort the input by occurred_at, or raise --lateness.")
        #expect(SummaryText.tooLateWarning(SummaryTests.sample().summary(), lateness: "5m") == nil)
        #expect(!SummaryText.render(SummaryTests.sample().summary()).contains("too late"))
        let html = ReplayReport(run: ReplayRun(name: "a", summary: summary, scores: builder.scores), source: "x").html()
        #expect(html.contains("36,238"))
        #expect(html.contains("too late (not in the windows)"))
    }

    @Test("a replay within one timeline bucket draws bars and dots, not zero-width areas; flagged and fraud are lines, not stacked")
    func oneBucketCharts() throws {
        var builder = ReplaySummaryBuilder()
        for (index, outcome) in [Outcome.approve, .review, .decline, .decline].enumerated() {
            let event = Fixtures.event("p\(index)", label: index == 3 ? .fraud : .legit)
            builder.add(event, Fixtures.decision(event, outcome))
        }
        let summary = builder.summary()
        #expect(summary.timeline.count == 1)
        let html = ReplayReport(run: ReplayRun(name: "a", summary: summary, scores: builder.scores), source: "x").html()
        let timeline = try Self.svg("timeline", in: html)
        let polygons = timeline.components(separatedBy: "<polygon points=\"").dropFirst().map { $0.prefix { $0 != "\"" } }
        #expect(polygons.count == 3)
        for polygon in polygons {
            let xs = Set(polygon.split(separator: " ").map { $0.split(separator: ",")[0] })
            #expect(xs.count == 2, "a bar has two x positions: \(polygon)")
        }
        let flagged = try Self.svg("flagged-timeline", in: html)
        #expect(!flagged.contains("<polygon"))
        #expect(flagged.components(separatedBy: "<circle ").count - 1 == 2)
        // Flagged 3 on an axis to 5: ticks at 0, 1.25, 2.5, 3.75 and 5, printed as such.
        let ticks = flagged.components(separatedBy: "text-anchor=\"end\" dominant-baseline=\"middle\">").dropFirst().map { String($0.prefix { $0 != "<" }) }
        #expect(ticks == ["0", "1.25", "2.5", "3.75", "5"])

        // Several buckets: two polylines, the fraud line at its own height, not stacked on the flagged.
        var spread = ReplaySummaryBuilder()
        for (minute, fraud) in [(0, true), (1, false), (2, true)] {
            let event = Fixtures.event("q\(minute)", minute: Int64(minute), label: fraud ? .fraud : .legit)
            spread.add(event, Fixtures.decision(event, .decline))
        }
        let spreadHTML = ReplayReport(run: ReplayRun(name: "a", summary: spread.summary(), scores: spread.scores), source: "x").html()
        let lines = try Self.svg("flagged-timeline", in: spreadHTML).components(separatedBy: "<polyline points=\"").dropFirst().map { String($0.prefix { $0 != "\"" }) }
        #expect(lines.count == 2)
        // Flagged 1, 1, 1 and fraud 1, 0, 1 on an axis to 1: the fraud line's ends are at the flagged line's height.
        let flaggedYs = lines[0].split(separator: " ").map { $0.split(separator: ",")[1] }
        let fraudYs = lines[1].split(separator: " ").map { $0.split(separator: ",")[1] }
        #expect(Set(flaggedYs).count == 1)
        #expect(fraudYs[0] == flaggedYs[0] && fraudYs[2] == flaggedYs[0] && fraudYs[1] != flaggedYs[0])
    }

    static func svg(_ id: String, in html: String) throws -> String {
        let start = try #require(html.range(of: "id=\"\(id)\""))
        let end = try #require(html.range(of: "</svg>", range: start.upperBound..<html.endIndex))
        return String(html[start.upperBound..<end.lowerBound])
    }

    /// docs/replay.md's memory figure for the set of payment ids seen (it said 25 bytes per
    /// payment; ~86 were measured on a whole replay). Measured here on the set alone, from the
    /// process's resident memory: `WAQITI_INTEGRATION= swift test --skip-build --filter
    /// seenIDsMemory` (alone, so nothing else moves the process's memory meanwhile): 84.9 bytes
    /// per payment. The set itself holds about 45 (15 bytes of id, 8 of its end, 16 to 32 of
    /// index); its arrays grow by doubling, and jemalloc keeps the pages of the smaller copies
    /// they leave resident for a while, about as much again.
    @Test("the seen-id set takes 23 to 100 bytes of resident memory per 15-byte payment id over 1,000,000 ids")
    func seenIDsMemory() throws {
        func resident() -> Int {
            let text = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
            let line = text.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
            return (Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0) * 1024
        }
        let count = 1_000_000
        var seen = FirstDeliveries()
        let before = resident()
        var firsts = 0
        for index in 0..<count {
            let digits = String(index)
            if seen.isFirst("pay_" + String(repeating: "0", count: 11 - digits.count) + digits) { firsts += 1 }
        }
        let perPayment = Double(resident() - before) / Double(count)
        #expect(firsts == count)
        #expect(perPayment >= 23 && perPayment <= 100, "\(perPayment) bytes per payment")
        withExtendedLifetime(seen) {}
    }
}
