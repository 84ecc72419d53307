/// RFC 3339 timestamps without Foundation: parsing straight from UTF-8 bytes (the decoder's
/// hot path) and formatting in UTC with milliseconds.
public enum RFC3339 {
    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`. Fractions beyond milliseconds are
    /// truncated (event time has millisecond resolution). Returns nil on any deviation.
    public static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> EventTime? {
        let n = bytes.count
        guard n >= 20 else { return nil }
        func digits(_ start: Int, _ count: Int) -> Int64? {
            var v: Int64 = 0
            for i in start..<(start + count) {
                let d = bytes[i] &- UInt8(ascii: "0")
                guard d < 10 else { return nil }
                v = v * 10 + Int64(d)
            }
            return v
        }
        guard let year = digits(0, 4), bytes[4] == UInt8(ascii: "-"),
              let month = digits(5, 2), bytes[7] == UInt8(ascii: "-"),
              let day = digits(8, 2), bytes[10] == UInt8(ascii: "T") || bytes[10] == UInt8(ascii: "t") || bytes[10] == UInt8(ascii: " "),
              let hour = digits(11, 2), bytes[13] == UInt8(ascii: ":"),
              let minute = digits(14, 2), bytes[16] == UInt8(ascii: ":"),
              let second = digits(17, 2)
        else { return nil }
        guard (1...12).contains(month), day >= 1, day <= daysInMonth(year: year, month: month),
              hour < 24, minute < 60, second < 61 else { return nil }
        var i = 19
        var millis: Int64 = 0
        if i < n, bytes[i] == UInt8(ascii: ".") {
            i += 1
            var fractionDigits = 0
            while i < n, bytes[i] &- UInt8(ascii: "0") < 10 {
                if fractionDigits < 3 { millis = millis * 10 + Int64(bytes[i] - UInt8(ascii: "0")) }
                fractionDigits += 1
                i += 1
            }
            guard fractionDigits > 0 else { return nil }
            // Guarded before the range is formed: `4..<3` traps, `where` comes too late.
            if fractionDigits < 3 { for _ in fractionDigits..<3 { millis *= 10 } }
        }
        guard i < n else { return nil }
        var offsetMinutes: Int64 = 0
        switch bytes[i] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            i += 1
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard n - i == 6, let oh = digits(i + 1, 2), bytes[i + 3] == UInt8(ascii: ":"), let om = digits(i + 4, 2),
                  oh < 24, om < 60 else { return nil }
            offsetMinutes = (oh * 60 + om) * (bytes[i] == UInt8(ascii: "+") ? 1 : -1)
            i += 6
        default:
            return nil
        }
        guard i == n else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + min(second, 59) - offsetMinutes * 60
        // An offset can carry a time of year 0000 or 9999 out of the years RFC 3339 can write
        // ("0000-01-01T00:00:00+01:00" is in year −1): refused, rather than formatted back as a
        // wrapped year.
        let milliseconds = seconds * 1000 + millis
        guard representableRange.contains(milliseconds) else { return nil }
        return EventTime(millisecondsSinceEpoch: milliseconds)
    }

    /// Years 0000 through 9999 in UTC, the times `append` writes as they are.
    public static let representableRange: ClosedRange<Int64> = -62_167_219_200_000...253_402_300_799_999

    public static func parse(_ text: String) -> EventTime? {
        var text = text
        return text.withUTF8 { parse($0) }
    }

    /// Formats as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
    public static func format(_ time: EventTime) -> String {
        var bytes = [UInt8]()
        bytes.reserveCapacity(24)
        append(time, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends the formatted timestamp to a byte buffer (used by the JSON writers).
    public static func append(_ time: EventTime, to out: inout [UInt8]) {
        let ms = time.millisecondsSinceEpoch
        let millis = ((ms % 1000) + 1000) % 1000
        let totalSeconds = (ms - millis) / 1000
        let secondsOfDay = ((totalSeconds % 86_400) + 86_400) % 86_400
        let days = (totalSeconds - secondsOfDay) / 86_400
        let (y, m, d) = civilFromDays(days)
        // The 24 bytes are filled on the stack and appended at once (a decision carries two
        // timestamps; appending digit by digit was a third of its encoding). A year outside
        // 0...9999 has no RFC 3339 form: its last four digits are written, as a wrapped year.
        let year = ((y % 10_000) + 10_000) % 10_000
        var text: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeMutableBytes(of: &text) { buffer in
            func put(_ v: Int64, at index: Int, width: Int) {
                var v = v
                for position in stride(from: index + width - 1, through: index, by: -1) {
                    buffer[position] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: v % 10)
                    v /= 10
                }
            }
            put(year, at: 0, width: 4); buffer[4] = UInt8(ascii: "-"); put(m, at: 5, width: 2); buffer[7] = UInt8(ascii: "-")
            put(d, at: 8, width: 2); buffer[10] = UInt8(ascii: "T")
            put(secondsOfDay / 3600, at: 11, width: 2); buffer[13] = UInt8(ascii: ":")
            put(secondsOfDay / 60 % 60, at: 14, width: 2); buffer[16] = UInt8(ascii: ":")
            put(secondsOfDay % 60, at: 17, width: 2); buffer[19] = UInt8(ascii: ".")
            put(millis, at: 20, width: 3); buffer[23] = UInt8(ascii: "Z")
            out.append(contentsOf: UnsafeRawBufferPointer(buffer))
        }
    }

    static func daysInMonth(year: Int64, month: Int64) -> Int64 {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Howard Hinnant's days_from_civil: proleptic Gregorian date to days since 1970-01-01.
    static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civilFromDays(_ z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }
}
