import FraudCore

/// A payment card: its fingerprint and issuing country (an index into `World.all`).
struct Card: Sendable {
    let id: String
    let country: Int
}

/// A customer of the platform and the habits that make its traffic look like one person's.
struct Account: Sendable {
    let id: String
    /// Index into `World.all`.
    let home: Int
    var cards: [Card]
    /// The first device is the one normally used; a new phone replaces it.
    var devices: [String]
    var ips: [String]
    /// Merchants this account returns to (indexes into `Population.merchants`).
    let favourites: [Int]
    /// Accounts it sends money to (friends, family, landlord).
    let payees: [Int]
    /// Multiplies typical amounts: some customers simply spend more.
    let spendFactor: Double
    /// Some customers browse through VPNs: their online IP country is often not their home.
    let usesVPN: Bool
    /// A trip abroad: while it lasts, in-person spending and IPs are in `trip.country`.
    let trip: (start: Int64, end: Int64, country: Int)?
}

struct Merchant: Sendable {
    let id: String
    /// Index into `MerchantCatalog.categories`.
    let category: Int
    let country: Int
}

/// Everyone and everything the simulated traffic involves, built once from the seed.
struct Population: Sendable {
    var accounts: [Account]
    let merchants: [Merchant]
    /// Merchants by country (indexes), for in-person spending at home or on a trip.
    let merchantsByCountry: [[Int]]
    let highRiskMerchants: [Int]
    let testingMerchants: [Int]
    /// Accounts many others pay (landlords, small businesses): the legitimate look-alike of mules.
    let hubs: [Int]
    /// Zipf-skewed activity: who makes the next legitimate payment.
    let activity: WeightedTable
    let merchantPopularity: WeightedTable
    private var nextDevice: Int
    private var nextCard: Int

    init(eventCount: Int, start: EventTime, span: EventDuration, random: inout SimulationRandom) {
        let accountCount = min(max(eventCount / 40, 500), 250_000)
        let merchantCount = min(max(eventCount / 100, 300), 50_000)

        var merchants: [Merchant] = []
        var byCountry = Array(repeating: [Int](), count: World.all.count)
        for n in 0..<merchantCount {
            let country = World.accountShares.draw(&random)
            let category = MerchantCatalog.popularity.draw(&random)
            byCountry[country].append(merchants.count)
            merchants.append(Merchant(id: Population.id("mer_", n, digits: 7), category: category, country: country))
        }
        self.merchants = merchants
        merchantsByCountry = byCountry
        highRiskMerchants = merchants.indices.filter { MerchantCatalog.categories[merchants[$0].category].highRisk }
        testingMerchants = merchants.indices.filter { MerchantCatalog.testingFriendly.contains(merchants[$0].category) }
        merchantPopularity = WeightedTable.zipf(count: merchantCount, exponent: 0.8, offset: 5)

        var cardNumber = 0
        var deviceNumber = 0
        var accounts: [Account] = []
        accounts.reserveCapacity(accountCount)
        for n in 0..<accountCount {
            let home = World.accountShares.draw(&random)
            var cards: [Card] = []
            for _ in 0..<(1 + random.below(3)) {
                // A few customers hold a card issued abroad (expats, multi-currency accounts).
                let country = random.chance(0.03) ? World.accountShares.draw(&random) : home
                cards.append(Card(id: Population.id("card_", cardNumber, digits: 8), country: country))
                cardNumber += 1
            }
            var devices: [String] = []
            for _ in 0..<(random.chance(0.3) ? 2 : 1) {
                devices.append(Population.id("dev_", deviceNumber, digits: 7))
                deviceNumber += 1
            }
            let ips = (0..<(1 + random.below(2))).map { _ in World.ip(in: home, &random) }
            let local = byCountry[home].isEmpty ? Array(merchants.indices) : byCountry[home]
            let favourites = (0..<(3 + random.below(6))).map { _ in random.pick(local) }
            let payees = (0..<(1 + random.below(4))).map { _ in random.below(accountCount) }
            var trip: (Int64, Int64, Int)?
            if random.chance(0.06) {
                let begin = start.millisecondsSinceEpoch + Int64(random.unit() * Double(span.milliseconds))
                let length = Int64(2 + random.below(9)) * 86_400_000
                var destination = random.chance(0.2) ? World.countries.count + random.below(World.elsewhere.count) : World.accountShares.draw(&random)
                if destination == home { destination = (home + 1) % World.countries.count }
                trip = (begin, begin + length, destination)
            }
            accounts.append(Account(
                id: Population.id("acc_", n, digits: 7), home: home, cards: cards, devices: devices, ips: ips,
                favourites: favourites, payees: payees, spendFactor: random.logNormal(median: 1, sigma: 0.5),
                usesVPN: random.chance(0.03), trip: trip
            ))
        }
        // Shuffle who is active so activity rank does not follow the id order.
        var ranks = Array(0..<accountCount)
        for i in stride(from: accountCount - 1, to: 0, by: -1) { ranks.swapAt(i, random.below(i + 1)) }
        self.accounts = ranks.map { accounts[$0] }
        activity = WeightedTable.zipf(count: accountCount, exponent: 0.9, offset: 10)
        hubs = (0..<max(5, accountCount / 800)).map { _ in random.below(accountCount) }
        nextDevice = deviceNumber
        nextCard = cardNumber
    }

    /// A device id never seen before (a new phone, or a fraudster's device).
    mutating func freshDevice() -> String {
        defer { nextDevice += 1 }
        return Population.id("dev_", nextDevice, digits: 7)
    }

    mutating func freshCard(country: Int) -> Card {
        defer { nextCard += 1 }
        return Card(id: Population.id("card_", nextCard, digits: 8), country: country)
    }

    /// `prefix` and `n` zero-padded to `digits`: `acc_0001234`. Ids stay within 15 bytes so Swift
    /// stores them inline.
    static func id(_ prefix: String, _ n: Int, digits: Int) -> String {
        let number = String(n)
        return prefix + String(repeating: "0", count: max(0, digits - number.count)) + number
    }
}
