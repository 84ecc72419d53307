/// Escaping and number formatting shared by the HTML and SVG builders.
///
/// Formatting never goes through the C locale or Foundation, so a report is byte-identical on
/// every machine for the same inputs.
public enum Markup {
    /// Escapes text for HTML and SVG element content and double-quoted attribute values.
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text.unicodeScalars {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(character)
            }
        }
        return out
    }

    /// `value` rounded half away from zero to `decimals` places, without exponent notation:
    /// `fixed(0.12345, 3) == "0.123"`, `fixed(2, 1) == "2.0"`. NaN and infinities print as `–`.
    public static func fixed(_ value: Double, _ decimals: Int) -> String {
        guard value.isFinite else { return "–" }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = (abs(value) * scale).rounded(.toNearestOrAwayFromZero)
        guard scaled < 9e18 else { return String(value) }
        let integer = UInt64(scaled)
        let divisor = UInt64(scale)
        let whole = integer / divisor
        var text = (value < 0 && integer != 0 ? "-" : "") + String(whole)
        if decimals > 0 {
            let fraction = String(integer % divisor)
            text += "." + String(repeating: "0", count: decimals - fraction.count) + fraction
        }
        return text
    }

    /// A ratio as a percentage with `decimals` places: `percent(0.1234, 1) == "12.3%"`.
    public static func percent(_ ratio: Double, _ decimals: Int = 1) -> String {
        ratio.isFinite ? fixed(ratio * 100, decimals) + "%" : "–"
    }

    /// An integer with thousands separators: `grouped(1234567) == "1,234,567"` (any width:
    /// money sums are `Int128`).
    public static func grouped(_ value: some BinaryInteger) -> String {
        let digits = String(value.magnitude)
        var out = ""
        for (index, digit) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { out.append(",") }
            out.append(digit)
        }
        return (value < 0 ? "-" : "") + out
    }

    /// A coordinate for SVG: two decimals, trailing zeros dropped, so paths stay short.
    static func coordinate(_ value: Double) -> String {
        var text = fixed(value, 2)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text == "-0" ? "0" : text
    }
}
