import FraudCore
import Simulation

/// Simulated payments for the oracle tests: few keys (so windows hold many events), times rounded
/// to whole seconds (so ties are common), disorder within and beyond the lateness, exact
/// redeliveries, missing beneficiaries, a currency without a rate, and idle gaps that evict keys.
struct StreamGenerator {
    var eventCount = 10_000
    var seed: UInt64 = 1
    var duplicateRate = 0.01
    /// Share of events delayed into the past, and how far (up to 8 minutes: some beyond 5m lateness).
    var disorderRate = 0.2
    var maxDelayMs: Int64 = 8 * 60_000
    /// Share of events after which the stream jumps forward by two hours (every key goes idle).
    var gapRate = 0.0005
    var cards = 40, accounts = 25, ips = 30, devices = 20, beneficiaries = 15

    static let start: Int64 = 1_795_940_130_000

    func events() -> [PaymentEvent] {
        var random = SimulationRandom(seed: seed)
        let currencies = [Currency.usd, .eur, Currency("JPY")!, Currency("SEK")!]
        var clock = StreamGenerator.start
        var out: [PaymentEvent] = []
        out.reserveCapacity(eventCount)
        while out.count < eventCount {
            if !out.isEmpty, Double.random(in: 0..<1, using: &random) < duplicateRate {
                let back = Int.random(in: 1...min(out.count, 300), using: &random)
                out.append(out[out.count - back])
                continue
            }
            clock += Int64.random(in: 0...4_000, using: &random)
            if Double.random(in: 0..<1, using: &random) < gapRate { clock += 2 * 3_600_000 }
            var time = clock
            if Double.random(in: 0..<1, using: &random) < disorderRate { time -= Int64.random(in: 0...maxDelayMs, using: &random) }
            time -= time % 1000
            let n = out.count
            let beneficiary = Bool.random(using: &random) ? nil : "ben\(Int.random(in: 0..<beneficiaries, using: &random))"
            out.append(PaymentEvent(
                paymentID: "pay\(seed)-\(n)",
                occurredAt: EventTime(millisecondsSinceEpoch: time),
                accountID: "acct\(Int.random(in: 0..<accounts, using: &random))",
                cardFingerprint: "card\(Int.random(in: 0..<cards, using: &random))",
                deviceID: "dev\(Int.random(in: 0..<devices, using: &random))",
                ip: "10.0.0.\(Int.random(in: 0..<ips, using: &random))",
                merchantID: "m\(Int.random(in: 0..<10, using: &random))",
                mcc: ["5411", "5999", "4829"].randomElement(using: &random)!,
                amount: Money(minorUnits: Int64.random(in: 1...500_000, using: &random), currency: currencies.randomElement(using: &random)!),
                cardCountry: "US", ipCountry: ["US", "NG", "BR"].randomElement(using: &random)!,
                channel: Channel.allCases.randomElement(using: &random)!,
                type: PaymentType.allCases.randomElement(using: &random)!,
                beneficiaryID: beneficiary
            ))
        }
        return out
    }
}

/// A payment with only the fields a test cares about; everything else fixed.
func payment(
    _ id: String, at seconds: Int64, card: String = "c1", account: String = "a1", amount: Int64 = 100,
    currency: Currency = .usd, channel: Channel = .ecom, type: PaymentType = .payment, ip: String = "1.1.1.1",
    beneficiary: String? = nil, metadata: [String: String] = [:]
) -> PaymentEvent {
    PaymentEvent(
        paymentID: id, occurredAt: EventTime(millisecondsSinceEpoch: StreamGenerator.start + seconds * 1000),
        accountID: account, cardFingerprint: card, deviceID: "d1", ip: ip, merchantID: "m1", mcc: "5411",
        amount: Money(minorUnits: amount, currency: currency), cardCountry: "US", ipCountry: "US",
        channel: channel, type: type, beneficiaryID: beneficiary, metadata: metadata
    )
}
