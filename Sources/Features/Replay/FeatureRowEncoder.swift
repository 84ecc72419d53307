import FraudCore

/// Writes one feature-output line per event:
/// `{"payment_id":"p1","features":{"count(card_fingerprint,10m)":3,"avg(amount_usd,ip,1h)":12.5}}`.
///
/// Integral features (counts, distinct counts, seconds, sums/min/max of `amount_minor`) are JSON
/// integers, the others shortest round-trip numbers, missing values `null`. The feature names are
/// escaped once, when the encoder is made.
public struct FeatureRowEncoder: Sendable {
    private let names: [[UInt8]]
    private let integral: [Bool]

    public init(plan: FeaturePlan) {
        names = plan.features.map { spec in
            var bytes: [UInt8] = []
            FeatureRowEncoder.appendString(spec.canonicalName, to: &bytes)
            bytes.append(UInt8(ascii: ":"))
            return bytes
        }
        integral = plan.features.map(\.isIntegral)
    }

    /// Appends the line for `paymentID` with `values` (one per plan feature), newline included.
    public func append(paymentID: String, values: ArraySlice<Double>, to out: inout [UInt8]) {
        out.append(contentsOf: #"{"payment_id":"#.utf8)
        FeatureRowEncoder.appendString(paymentID, to: &out)
        out.append(contentsOf: #","features":{"#.utf8)
        for (column, value) in values.enumerated() {
            if column > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: names[column])
            FeatureRowEncoder.appendNumber(value, integral: integral[column], to: &out)
        }
        out.append(contentsOf: "}}\n".utf8)
    }

    static func appendNumber(_ value: Double, integral: Bool, to out: inout [UInt8]) {
        if value.isNaN || value.isInfinite {
            out.append(contentsOf: "null".utf8)
        } else if (integral && abs(value) < 9e18) || (value == value.rounded() && abs(value) < 1e15) {
            out.append(contentsOf: String(Int64(value)).utf8)
        } else {
            out.append(contentsOf: value.description.utf8)
        }
    }

    /// A JSON string: quote, backslash and control characters escaped, the rest verbatim.
    static func appendString(_ text: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                out.append(UInt8(ascii: "\\"))
                out.append(byte)
            case 0x0A: out.append(contentsOf: #"\n"#.utf8)
            case 0x0D: out.append(contentsOf: #"\r"#.utf8)
            case 0x09: out.append(contentsOf: #"\t"#.utf8)
            case 0..<0x20:
                out.append(contentsOf: #"\u00"#.utf8)
                LowercaseHex.append(byte: byte, to: &out)
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
