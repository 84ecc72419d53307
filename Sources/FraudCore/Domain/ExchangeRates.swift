/// Conversion of event amounts to US dollars for `amount_usd` features and money comparisons
/// across currencies. Rates are "US dollars per one major unit of the currency".
///
/// Conversion is for scoring only: the result is a Double in major units and never goes back into
/// a ledger. A currency without a rate converts to nil (a missing value), never to zero.
public struct ExchangeRates: Sendable, Equatable {
    public private(set) var usdPerMajorUnit: [Currency: Double]

    public init(usdPerMajorUnit: [Currency: Double]) {
        var rates = usdPerMajorUnit
        rates[.usd] = 1.0
        self.usdPerMajorUnit = rates
    }

    public func usd(_ money: Money) -> Double? {
        guard let rate = usdPerMajorUnit[money.currency] else { return nil }
        return Double(money.minorUnits) / ExchangeRates.powersOfTen[money.currency.minorUnitExponent] * rate
    }

    /// Converts `amount` (major units of `from`) to major units of `to`; nil if either rate is missing.
    public func convert(_ amount: Double, from: Currency, to: Currency) -> Double? {
        guard let f = usdPerMajorUnit[from], let t = usdPerMajorUnit[to] else { return nil }
        return amount * f / t
    }

    static let powersOfTen: [Double] = [1, 10, 100, 1000, 10_000]

    /// Fixed rates used when no rates file is configured (tests, simulator, quick start).
    /// Production deployments load `rules/rates.json`.
    public static let builtIn = ExchangeRates(usdPerMajorUnit: [
        Currency("EUR")!: 1.08, Currency("GBP")!: 1.27, Currency("JPY")!: 0.0067,
        Currency("CAD")!: 0.73, Currency("AUD")!: 0.66, Currency("BRL")!: 0.20,
        Currency("INR")!: 0.012, Currency("MXN")!: 0.058, Currency("NGN")!: 0.00065,
        Currency("KWD")!: 3.25, Currency("CHF")!: 1.13, Currency("SGD")!: 0.74,
    ])
}
