import Testing
@testable import FraudCore

@Suite("Event time")
struct TimeTests {
    @Test("RFC 3339 with milliseconds parses to epoch milliseconds", arguments: [
        ("1970-01-01T00:00:00.000Z", Int64(0)),
        ("2026-11-29T08:15:30.123Z", Int64(1_795_940_130_123)),
        ("2026-11-29T09:15:30.123+01:00", Int64(1_795_940_130_123)),
        ("2024-02-29T23:59:59.999Z", Int64(1_709_251_199_999)),
        ("2026-11-29T08:15:30Z", Int64(1_795_940_130_000)),
        ("2026-11-29T08:15:30.1Z", Int64(1_795_940_130_100)),
        ("1969-12-31T23:59:59.999Z", Int64(-1)),
        // Digits beyond milliseconds are truncated (four or more digits trapped, taking the process down).
        ("2026-11-29T08:15:30.1234Z", Int64(1_795_940_130_123)),
        ("2026-11-29T08:15:30.123999Z", Int64(1_795_940_130_123)),
        ("2026-11-29T09:15:30.123456789+01:00", Int64(1_795_940_130_123)),
        ("0000-01-01T00:30:00+00:30", Int64(-62_167_219_200_000)),
        ("9999-12-31T22:59:59.999-01:00", Int64(253_402_300_799_999)),
    ])
    func parses(text: String, millis: Int64) {
        #expect(RFC3339.parse(text)?.millisecondsSinceEpoch == millis)
    }

    @Test("Malformed timestamps are rejected", arguments: [
        "", "2026-11-29", "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z", "2026-11-29T25:00:00Z",
        "2026-11-29T08:15:30.Z", "2026-11-29T08:15:30", "2026-11-29T08:15:30.123Zjunk", "2026/11/29T08:15:30Z",
        "2023-02-29T00:00:00Z",
        // Offsets that carry a time out of years 0000–9999 (it would be written back as a wrapped year).
        "0000-01-01T00:00:00+01:00", "9999-12-31T23:30:00-01:00",
    ])
    func rejects(text: String) {
        #expect(RFC3339.parse(text) == nil)
    }

    @Test("Formatting round-trips through parsing")
    func roundTrip() {
        for ms in [Int64(0), 1, 999, 1_795_940_130_123, -1, -86_400_001, 4_102_444_800_000] {
            let time = EventTime(millisecondsSinceEpoch: ms)
            #expect(RFC3339.parse(RFC3339.format(time)) == time, "\(ms) -> \(RFC3339.format(time))")
        }
        #expect(RFC3339.format(EventTime(millisecondsSinceEpoch: 1_795_940_130_123)) == "2026-11-29T08:15:30.123Z")
    }

    @Test("Formatting at the ends of four-digit years, and past them on both sides (the year wrapped to four digits)", arguments: [
        (RFC3339.daysFromCivil(year: 0, month: 1, day: 1) * 86_400_000, "0000-01-01T00:00:00.000Z"),
        (RFC3339.daysFromCivil(year: 10_000, month: 1, day: 1) * 86_400_000 - 1, "9999-12-31T23:59:59.999Z"),
        (RFC3339.daysFromCivil(year: 10_000, month: 1, day: 1) * 86_400_000, "0000-01-01T00:00:00.000Z"),
        (RFC3339.daysFromCivil(year: 12_026, month: 3, day: 4) * 86_400_000 + 45_296_007, "2026-03-04T12:34:56.007Z"),
        (RFC3339.daysFromCivil(year: -1, month: 12, day: 31) * 86_400_000 + 86_399_999, "9999-12-31T23:59:59.999Z"),
    ])
    func formatsYearBounds(ms: Int64, text: String) {
        #expect(RFC3339.format(EventTime(millisecondsSinceEpoch: ms)) == text)
    }

    @Test("Duration literals", arguments: [
        ("500ms", Int64(500)), ("30s", 30_000), ("10m", 600_000), ("1h", 3_600_000), ("24h", 86_400_000), ("7d", 604_800_000),
    ])
    func durations(text: String, ms: Int64) {
        #expect(EventDuration(parsing: text)?.milliseconds == ms)
    }

    @Test("Bad duration literals", arguments: ["", "10", "m", "10 m", "10w", "-5m", "99999999999999999999d"])
    func badDurations(text: String) {
        #expect(EventDuration(parsing: text) == nil)
    }

    @Test("Durations print in their largest exact unit")
    func durationDescription() {
        #expect(EventDuration.minutes(10).description == "10m")
        #expect(EventDuration.hours(24).description == "1d")
        #expect(EventDuration(milliseconds: 90_000).description == "90s")
        #expect(EventDuration(milliseconds: 1500).description == "1500ms")
    }
}
