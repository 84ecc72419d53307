/// An ISO 4217 currency, stored as its three ASCII letters packed into an integer so that
/// events carry no heap allocation for it and comparisons are a single integer compare.
public struct Currency: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The three uppercase ASCII letters, first letter in the most significant byte.
    public let packed: UInt32

    /// Validates `code` against the ISO 4217 table this build knows.
    /// Returns nil for anything that is not an active three-letter code.
    public init?(_ code: some StringProtocol) {
        var utf8 = code.utf8.makeIterator()
        guard let a = utf8.next(), let b = utf8.next(), let c = utf8.next(), utf8.next() == nil else { return nil }
        self.init(asciiBytes: a, b, c)
    }

    /// Validates three ASCII bytes (as they appear in a JSON or CSV buffer) without building a String.
    public init?(asciiBytes a: UInt8, _ b: UInt8, _ c: UInt8) {
        for byte in [a, b, c] where byte < UInt8(ascii: "A") || byte > UInt8(ascii: "Z") { return nil }
        let packed = UInt32(a) << 16 | UInt32(b) << 8 | UInt32(c)
        guard Currency.minorUnitExponents[packed] != nil else { return nil }
        self.packed = packed
    }

    public var code: String {
        String(decoding: [UInt8(truncatingIfNeeded: packed >> 16), UInt8(truncatingIfNeeded: packed >> 8), UInt8(truncatingIfNeeded: packed)], as: UTF8.self)
    }

    /// Number of decimal places of the currency's minor unit (2 for USD, 0 for JPY, 3 for KWD).
    public var minorUnitExponent: Int { Currency.minorUnitExponents[packed] ?? 2 }

    public var description: String { code }
    public static func < (lhs: Currency, rhs: Currency) -> Bool { lhs.packed < rhs.packed }

    public static let usd = Currency("USD")!
    public static let eur = Currency("EUR")!

    /// Active ISO 4217 codes with their minor-unit exponents. Codes with 2 decimals are the default
    /// and listed in `twoDecimal`; the exceptions carry their own exponent.
    static let minorUnitExponents: [UInt32: Int] = {
        let twoDecimal = """
        AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BRL BSD BTN BWP BYN BZD \
        CAD CDF CHF CNY COP CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD \
        GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD \
        MDL MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR \
        PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT \
        TOP TRY TTD TWD TZS UAH USD UYU UZS VES WST XCD YER ZAR ZMW ZWL
        """
        let zeroDecimal = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX VND VUV XAF XOF XPF"
        let threeDecimal = "BHD IQD JOD KWD LYD OMR TND"
        var table: [UInt32: Int] = [:]
        func add(_ list: String, _ exponent: Int) {
            for code in list.split(separator: " ") {
                let b = Array(code.utf8)
                table[UInt32(b[0]) << 16 | UInt32(b[1]) << 8 | UInt32(b[2])] = exponent
            }
        }
        add(twoDecimal, 2)
        add(zeroDecimal, 0)
        add(threeDecimal, 3)
        return table
    }()
}

/// An amount of money: integer minor units of one currency. Never a floating-point number on the
/// wire or in a ledger; conversions to a common currency for features go through `ExchangeRates`.
public struct Money: Hashable, Sendable, CustomStringConvertible {
    public var minorUnits: Int64
    public var currency: Currency

    /// The largest amount an event, a payment or a top-up may carry: 10^15 minor units (ten
    /// trillion dollars in cents). Far above any real payment, and low enough that window sums
    /// stay exact for 9,223 such payments on one key and a ledger's running balances cannot be
    /// pushed past a 64-bit integer by one request.
    public static let maximumMinorUnits: Int64 = 1_000_000_000_000_000

    public init(minorUnits: Int64, currency: Currency) {
        self.minorUnits = minorUnits
        self.currency = currency
    }

    /// "12.34 USD", "1500 JPY": the major-unit decimal form used in logs, reasons and the rules DSL.
    public var description: String {
        let exponent = currency.minorUnitExponent
        guard exponent > 0 else { return "\(minorUnits) \(currency)" }
        var scale: Int64 = 1
        for _ in 0..<exponent { scale *= 10 }
        let sign = minorUnits < 0 ? "-" : ""
        let magnitude = minorUnits.magnitude
        let major = magnitude / UInt64(scale)
        let minor = String(magnitude % UInt64(scale))
        return "\(sign)\(major).\(String(repeating: "0", count: exponent - minor.count))\(minor) \(currency)"
    }
}
