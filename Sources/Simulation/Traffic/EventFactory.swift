import FraudCore

/// Assembles simulated events and hands out payment ids in creation order (`pay_00000000042`).
struct EventFactory {
    private var nextPayment = 0

    /// Who pays, with what, from where: the parts of an event that describe the payer's session.
    struct Payer {
        var account: String
        var card: Card
        var device: String
        var ip: String
        var ipCountry: Int
    }

    mutating func make(
        at time: Int64, _ payer: Payer, merchant: String, mcc: String, amount: Money,
        channel: Channel, type: PaymentType, beneficiary: String? = nil, scenario: FraudScenario? = nil
    ) -> PaymentEvent {
        defer { nextPayment += 1 }
        return PaymentEvent(
            paymentID: Population.id("pay_", nextPayment, digits: 11), occurredAt: EventTime(millisecondsSinceEpoch: time),
            accountID: payer.account, cardFingerprint: payer.card.id, deviceID: payer.device, ip: payer.ip,
            merchantID: merchant, mcc: mcc, amount: amount,
            cardCountry: World.all[payer.card.country].code, ipCountry: World.all[payer.ipCountry].code,
            channel: channel, type: type, beneficiaryID: beneficiary,
            metadata: scenario.map { ["scenario": $0.rawValue] } ?? [:],
            label: scenario == nil ? .legit : .fraud
        )
    }
}

/// The platform's own counterparties for flows that are not card payments.
enum PlatformMerchants {
    static let p2p = "waqiti_p2p"
    static let wallet = "waqiti_wallet"

    /// One of 40 ATMs per country.
    static func atm(in country: Int, _ random: inout SimulationRandom) -> String {
        Population.id("atm_", country * 1000 + random.below(40), digits: 7)
    }

    /// Cash comes in notes: amounts round to a local note size.
    static func noteSize(_ currency: Currency) -> Double {
        switch currency.code {
        case "JPY": 1000
        case "BRL", "MXN": 50
        case "NGN": 1000
        default: 20
        }
    }
}
