import FraudCore
import Simulation

/// A deterministic stream of payment requests for `waqiti traffic`: the same seed gives the same
/// payments and the same duplicate submissions, so two runs can be compared.
///
/// By default the requests carry no `occurred_at`: the payment service stamps each payment with its
/// clock on arrival, as it does for any live client that omits it, because it accepts a client's
/// time only within minutes of its clock (`OccurredAtBounds`). A recording (`waqiti simulate`) can
/// instead keep its own spacing (`keepingTimes`): its week of event times moved as one block to end
/// just before the run, which the service accepts when its `payment.occurred_at_max_age` covers
/// the recording's span. Stamped on arrival, the week would be squeezed into the minute the
/// requests take, and every velocity rule would fire.
public struct TrafficPlan: Sendable {
    /// One HTTP submission: a request under an idempotency key; duplicates reuse an earlier key.
    public struct Submission: Sendable {
        public var idempotencyKey: String
        public var request: PaymentRequest
        public var isDuplicate: Bool
    }

    public var submissions: [Submission]
    /// What each wallet must be topped up with, per currency, so that every payment can be held.
    public var funding: [(walletID: String, amount: Money)]

    /// - Parameters:
    ///   - payments: distinct payments (duplicates come on top).
    ///   - duplicateRate: share of payments submitted a second time with the same key (0.01 = 1%).
    public init(payments: Int, accounts accountCount: Int, duplicateRate: Double, seed: UInt64) {
        var random = SimulationRandom(seed: seed)
        let accounts = (0..<accountCount).map { "acc-\($0)" }
        let merchants = (0..<50).map { "m-\($0)" }
        let mccs = ["5411", "5812", "5999", "4829", "7995", "5732"]
        let countries = ["US", "GB", "DE", "FR", "NG", "BR"]
        var spent = [Int64](repeating: 0, count: accountCount)
        var submissions: [Submission] = []
        submissions.reserveCapacity(payments + payments / 50 + 1)
        let duplicateEvery = duplicateRate > 0 ? max(1, Int((1 / duplicateRate).rounded())) : Int.max
        for i in 0..<payments {
            let account = random.below(accountCount)
            let amount = Int64(100 + random.below(20_000))
            spent[account] += amount
            let country = random.pick(countries)
            let event = PaymentEvent(
                // Not sent: the service stamps the time (see the type's comment).
                paymentID: "", occurredAt: EventTime(millisecondsSinceEpoch: 0), accountID: accounts[account],
                cardFingerprint: "card-\(account)-\(random.below(2))", deviceID: "dev-\(account)-\(random.below(3))",
                ip: "198.51.100.\(random.below(250) + 1)", merchantID: random.pick(merchants),
                mcc: random.pick(mccs), amount: Money(minorUnits: amount, currency: .usd),
                cardCountry: "US", ipCountry: random.below(10) == 0 ? country : "US", channel: .ecom, type: .payment)
            let submission = Submission(idempotencyKey: "traffic-\(seed)-\(i)", request: Self.request(event, shiftedBy: nil), isDuplicate: false)
            submissions.append(submission)
            if i % duplicateEvery == duplicateEvery - 1 {
                var duplicate = submission
                duplicate.isDuplicate = true
                submissions.append(duplicate)
            }
        }
        self.submissions = submissions
        let perAccount = (spent.max() ?? 0) + 1_000
        funding = accounts.map { (walletID: $0, amount: Money(minorUnits: perAccount, currency: .usd)) }
    }

    /// Recorded or simulated events (`waqiti simulate`) as payment requests: each event's
    /// `payment_id` becomes its Idempotency-Key, so a redelivered copy in the file is a duplicate
    /// submission; each wallet is funded with what its payments need in each currency.
    ///
    /// - Parameter keepingTimes: when set, each request carries its event's time moved by one
    ///   offset, so that the latest event happened at this time; order and spacing are kept, and a
    ///   redelivered copy carries the same time as its original. When nil, no time is sent.
    public init(events: [PaymentEvent], keepingTimes end: EventTime? = nil) {
        let shift = end.flatMap { end in events.map(\.occurredAt).max().map { end - $0 } }
        var seen: Set<String> = []
        var needed: [String: [Currency: Int64]] = [:]
        submissions = events.map { event in
            let isDuplicate = !seen.insert(event.paymentID).inserted
            if !isDuplicate { needed[event.accountID, default: [:]][event.amount.currency, default: 0] += event.amount.minorUnits }
            return Submission(idempotencyKey: event.paymentID, request: Self.request(event, shiftedBy: shift), isDuplicate: isDuplicate)
        }
        funding = needed.sorted { $0.key < $1.key }.flatMap { wallet, currencies in
            currencies.sorted { $0.key.code < $1.key.code }.map { (walletID: wallet, amount: Money(minorUnits: $0.value + 1_000, currency: $0.key)) }
        }
    }

    /// The event as a client's request: its time moved by `shift`, or without a time (the
    /// service stamps it) when `shift` is nil.
    static func request(_ event: PaymentEvent, shiftedBy shift: EventDuration?) -> PaymentRequest {
        var request = PaymentRequest(event)
        request.occurredAt = shift.map { RFC3339.format(event.occurredAt + $0) }
        return request
    }
}
