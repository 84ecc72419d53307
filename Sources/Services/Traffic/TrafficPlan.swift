import FraudCore

/// A deterministic stream of payment requests for `waqiti traffic`: the same seed gives the same
/// payments and the same duplicate submissions, so two runs can be compared.
public struct TrafficPlan: Sendable {
    /// One HTTP submission: a request under an idempotency key; duplicates reuse an earlier key.
    public struct Submission: Sendable {
        public var idempotencyKey: String
        public var request: PaymentRequest
        public var isDuplicate: Bool
    }

    public var accounts: [String]
    public var submissions: [Submission]
    /// What each account must be funded with so that every payment in the plan can be held.
    public var fundingPerAccount: Int64

    /// - Parameters:
    ///   - payments: distinct payments (duplicates come on top).
    ///   - duplicateRate: share of payments submitted a second time with the same key (0.01 = 1%).
    public init(payments: Int, accounts accountCount: Int, duplicateRate: Double, seed: UInt64, startTime: EventTime) {
        var random = SplitMix64(seed: seed)
        accounts = (0..<accountCount).map { "acc-\($0)" }
        let merchants = (0..<50).map { "m-\($0)" }
        let mccs = ["5411", "5812", "5999", "4829", "7995", "5732"]
        let countries = ["US", "GB", "DE", "FR", "NG", "BR"]
        var spent = [Int64](repeating: 0, count: accountCount)
        var submissions: [Submission] = []
        submissions.reserveCapacity(payments + payments / 50 + 1)
        let duplicateEvery = duplicateRate > 0 ? max(1, Int((1 / duplicateRate).rounded())) : Int.max
        for i in 0..<payments {
            let account = Int(random.next() % UInt64(accountCount))
            let amount = Int64(100 + random.next() % 20_000)
            spent[account] += amount
            let country = countries[Int(random.next() % UInt64(countries.count))]
            let event = PaymentEvent(
                paymentID: "", occurredAt: startTime + .init(milliseconds: Int64(i) * 10), accountID: accounts[account],
                cardFingerprint: "card-\(account)-\(random.next() % 2)", deviceID: "dev-\(account)-\(random.next() % 3)",
                ip: "198.51.100.\(random.next() % 250 + 1)", merchantID: merchants[Int(random.next() % UInt64(merchants.count))],
                mcc: mccs[Int(random.next() % UInt64(mccs.count))], amount: Money(minorUnits: amount, currency: .usd),
                cardCountry: "US", ipCountry: random.next() % 10 == 0 ? country : "US", channel: .ecom, type: .payment)
            let submission = Submission(idempotencyKey: "traffic-\(seed)-\(i)", request: PaymentRequest(event), isDuplicate: false)
            submissions.append(submission)
            if i % duplicateEvery == duplicateEvery - 1 {
                var duplicate = submission
                duplicate.isDuplicate = true
                submissions.append(duplicate)
            }
        }
        self.submissions = submissions
        fundingPerAccount = (spent.max() ?? 0) + 1_000
    }
}

/// A small, fast, seedable generator (Steele, Lea & Flood's SplitMix64).
struct SplitMix64 {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
