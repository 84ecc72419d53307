import Testing
@testable import FraudCore

@Suite("Money and currency")
struct MoneyTests {
    @Test("Known ISO 4217 codes are accepted with their exponent", arguments: [
        ("USD", 2), ("EUR", 2), ("JPY", 0), ("KWD", 3), ("GBP", 2),
    ])
    func currencies(code: String, exponent: Int) throws {
        let currency = try #require(Currency(code))
        #expect(currency.code == code)
        #expect(currency.minorUnitExponent == exponent)
    }

    @Test("Unknown, lowercase or malformed codes are rejected", arguments: ["usd", "XXX", "US", "USDD", "", "ZZZ", "U$D"])
    func rejects(code: String) {
        #expect(Currency(code) == nil)
    }

    @Test("Money prints in major units of its currency")
    func description() {
        #expect(Money(minorUnits: 1234, currency: .usd).description == "12.34 USD")
        #expect(Money(minorUnits: 5, currency: .usd).description == "0.05 USD")
        #expect(Money(minorUnits: -1205, currency: .eur).description == "-12.05 EUR")
        #expect(Money(minorUnits: 1500, currency: Currency("JPY")!).description == "1500 JPY")
        #expect(Money(minorUnits: 1, currency: Currency("KWD")!).description == "0.001 KWD")
    }

    @Test("USD conversion uses the currency's exponent; unknown rates are missing, not zero")
    func conversion() throws {
        let rates = ExchangeRates(usdPerMajorUnit: [Currency("EUR")!: 1.10, Currency("JPY")!: 0.0070])
        let eur = try #require(rates.usd(Money(minorUnits: 10_000, currency: .eur)))
        #expect(abs(eur - 110.0) < 1e-9)
        let jpy = try #require(rates.usd(Money(minorUnits: 10_000, currency: Currency("JPY")!)))
        #expect(abs(jpy - 70.0) < 1e-9)
        #expect(rates.usd(Money(minorUnits: 250, currency: .usd)) == 2.5)
        #expect(rates.usd(Money(minorUnits: 100, currency: Currency("GBP")!)) == nil)
    }
}
