/// A point in event time: milliseconds since the Unix epoch, UTC.
///
/// Windows, lateness and decisions all use event time (when the payment happened), never the
/// time the engine happened to receive the event.
public struct EventTime: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var millisecondsSinceEpoch: Int64

    public init(millisecondsSinceEpoch: Int64) {
        self.millisecondsSinceEpoch = millisecondsSinceEpoch
    }

    public static func < (lhs: EventTime, rhs: EventTime) -> Bool {
        lhs.millisecondsSinceEpoch < rhs.millisecondsSinceEpoch
    }

    public static func + (lhs: EventTime, rhs: EventDuration) -> EventTime {
        EventTime(millisecondsSinceEpoch: lhs.millisecondsSinceEpoch + rhs.milliseconds)
    }

    public static func - (lhs: EventTime, rhs: EventDuration) -> EventTime {
        EventTime(millisecondsSinceEpoch: lhs.millisecondsSinceEpoch - rhs.milliseconds)
    }

    public static func - (lhs: EventTime, rhs: EventTime) -> EventDuration {
        EventDuration(milliseconds: lhs.millisecondsSinceEpoch - rhs.millisecondsSinceEpoch)
    }

    /// RFC 3339 in UTC with milliseconds, e.g. `2026-11-29T08:15:30.123Z`.
    public var description: String { RFC3339.format(self) }
}

/// A span of event time in milliseconds: window lengths, lateness, TTLs.
public struct EventDuration: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var milliseconds: Int64

    public init(milliseconds: Int64) { self.milliseconds = milliseconds }
    public static func seconds(_ s: Int64) -> EventDuration { EventDuration(milliseconds: s * 1000) }
    public static func minutes(_ m: Int64) -> EventDuration { EventDuration(milliseconds: m * 60_000) }
    public static func hours(_ h: Int64) -> EventDuration { EventDuration(milliseconds: h * 3_600_000) }
    public static func days(_ d: Int64) -> EventDuration { EventDuration(milliseconds: d * 86_400_000) }

    public static func < (lhs: EventDuration, rhs: EventDuration) -> Bool { lhs.milliseconds < rhs.milliseconds }

    /// Parses the duration literals of the rules DSL and configuration: an integer followed by
    /// `ms`, `s`, `m`, `h` or `d` (`500ms`, `30s`, `10m`, `24h`, `7d`). Returns nil otherwise.
    public init?(parsing text: some StringProtocol) {
        let bytes = Array(text.utf8)
        var i = 0
        var value: Int64 = 0
        while i < bytes.count, bytes[i] >= UInt8(ascii: "0"), bytes[i] <= UInt8(ascii: "9") {
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(Int64(bytes[i] - UInt8(ascii: "0")))
            guard !o1, !o2 else { return nil }
            value = s
            i += 1
        }
        guard i > 0, i < bytes.count else { return nil }
        let unit = String(decoding: bytes[i...], as: UTF8.self)
        let scale: Int64
        switch unit {
        case "ms": scale = 1
        case "s": scale = 1000
        case "m": scale = 60_000
        case "h": scale = 3_600_000
        case "d": scale = 86_400_000
        default: return nil
        }
        let (ms, overflow) = value.multipliedReportingOverflow(by: scale)
        guard !overflow else { return nil }
        self.milliseconds = ms
    }

    /// The shortest exact literal: `10m`, not `600s`; `1500ms` when no larger unit divides it.
    public var description: String {
        for (scale, unit) in [(Int64(86_400_000), "d"), (3_600_000, "h"), (60_000, "m"), (1000, "s")]
        where milliseconds != 0 && milliseconds % scale == 0 {
            return "\(milliseconds / scale)\(unit)"
        }
        return milliseconds == 0 ? "0s" : "\(milliseconds)ms"
    }
}
