import FraudCore

/// A country the simulated platform operates in: its share of accounts, its currency, and the
/// first octets of the IPv4 blocks that geolocate to it.
struct Country: Sendable {
    let code: String
    let currency: Currency
    let accountShare: Double
    let ipFirstOctets: [Int]
}

/// The fixed geography of the simulation. Weights and octets are plausible, not authoritative.
enum World {
    static let countries: [Country] = [
        Country(code: "US", currency: .usd, accountShare: 0.34, ipFirstOctets: [23, 24, 50, 66, 67, 68, 71, 72, 73, 98, 99, 107, 108]),
        Country(code: "GB", currency: Currency("GBP")!, accountShare: 0.12, ipFirstOctets: [2, 5, 25, 31, 51, 81, 86, 90]),
        Country(code: "DE", currency: .eur, accountShare: 0.10, ipFirstOctets: [46, 62, 77, 79, 84, 87, 91, 93]),
        Country(code: "FR", currency: .eur, accountShare: 0.08, ipFirstOctets: [37, 78, 80, 82, 83, 88, 90, 92]),
        Country(code: "ES", currency: .eur, accountShare: 0.05, ipFirstOctets: [47, 79, 81, 83, 85, 88]),
        Country(code: "IT", currency: .eur, accountShare: 0.04, ipFirstOctets: [2, 5, 79, 82, 87, 93, 95]),
        Country(code: "NL", currency: .eur, accountShare: 0.04, ipFirstOctets: [31, 62, 77, 80, 84, 145]),
        Country(code: "JP", currency: Currency("JPY")!, accountShare: 0.11, ipFirstOctets: [14, 27, 49, 60, 61, 106, 110, 126]),
        Country(code: "BR", currency: Currency("BRL")!, accountShare: 0.12, ipFirstOctets: [138, 143, 177, 179, 186, 187, 189, 191, 200, 201]),
    ]

    /// Countries fraud often originates from but where the platform has no customers, so their IPs
    /// are a signal (though travellers and VPN users show up there too).
    static let elsewhere: [Country] = [
        Country(code: "NG", currency: Currency("NGN")!, accountShare: 0, ipFirstOctets: [41, 102, 105, 154, 197]),
        Country(code: "RU", currency: .usd, accountShare: 0, ipFirstOctets: [5, 31, 46, 77, 78, 95, 176, 178]),
        Country(code: "VN", currency: .usd, accountShare: 0, ipFirstOctets: [1, 14, 27, 42, 113, 115, 171]),
        Country(code: "ID", currency: .usd, accountShare: 0, ipFirstOctets: [36, 39, 103, 110, 114, 180, 202]),
        Country(code: "RO", currency: .eur, accountShare: 0, ipFirstOctets: [5, 31, 79, 86, 89, 93, 188]),
        Country(code: "MX", currency: Currency("MXN")!, accountShare: 0, ipFirstOctets: [148, 177, 187, 189, 200, 201]),
        Country(code: "TH", currency: .usd, accountShare: 0, ipFirstOctets: [1, 27, 49, 58, 101, 110, 171, 182]),
    ]

    /// Every country with IP blocks: home countries first (their index is the country id), then the rest.
    static let all = countries + elsewhere

    static let accountShares = WeightedTable(weights: countries.map(\.accountShare))

    /// An IPv4 address in `country`'s blocks, at most 15 bytes so it stays a small string.
    static func ip(in country: Int, _ random: inout SimulationRandom) -> String {
        let first = random.pick(all[country].ipFirstOctets)
        return "\(first).\(random.below(256)).\(random.below(256)).\(1 + random.below(254))"
    }

    static func index(of code: String) -> Int {
        all.firstIndex { $0.code == code }!
    }
}

/// Money in a country's currency for an amount in US dollars, in whole minor units, using the
/// same fixed rates the engine uses for `amount_usd` (so simulated amounts convert back sensibly).
func localAmount(usd: Double, currency: Currency, roundTo step: Double = 0) -> Money {
    let rate = ExchangeRates.builtIn.usdPerMajorUnit[currency] ?? 1
    var major = usd / rate
    if step > 0 { major = max(step, (major / step).rounded() * step) }
    var scale = 1.0
    for _ in 0..<currency.minorUnitExponent { scale *= 10 }
    return Money(minorUnits: max(1, Int64((major * scale).rounded())), currency: currency)
}
