import FraudCore

/// Generates one fraud episode of a scenario: a short story of events by one fraudster, with
/// enough variation (domestic fraudsters, reused devices, ordinary merchants) that no single
/// field gives it away.
struct FraudBehaviour {
    var random: SimulationRandom

    /// The events of one episode starting at `start`: exactly `size` fraud events, plus, for
    /// impossible travel, the victim's own legitimate purchase just before when `legitBudget` allows.
    mutating func episode(
        _ scenario: FraudScenario, size: Int, at start: Int64,
        _ population: inout Population, _ factory: inout EventFactory, legitBudget: inout Int
    ) -> [PaymentEvent] {
        switch scenario {
        case .cardTesting: cardTesting(size, start, &population, &factory)
        case .accountTakeover: accountTakeover(size, start, &population, &factory)
        case .stolenCard: stolenCard(size, start, &population, &factory)
        case .muleFanIn: muleFanIn(size, start, &population, &factory)
        case .impossibleTravel: impossibleTravel(size, start, &population, &factory, legitBudget: &legitBudget)
        }
    }

    /// A country other than `home`: mostly one where the platform has no customers.
    private mutating func foreignCountry(than home: Int) -> Int {
        if random.chance(0.6) { return World.countries.count + random.below(World.elsewhere.count) }
        let other = World.accountShares.draw(&random)
        return other == home ? (home + 1) % World.countries.count : other
    }

    private mutating func cardTesting(_ size: Int, _ start: Int64, _ population: inout Population, _ factory: inout EventFactory) -> [PaymentEvent] {
        let victim = population.accounts[random.below(population.accounts.count)]
        let card = random.pick(victim.cards)
        let country = random.chance(0.75) ? foreignCountry(than: card.country) : card.country
        let payer = EventFactory.Payer(account: victim.id, card: card, device: population.freshDevice(),
                                       ip: World.ip(in: country, &random), ipCountry: country)
        let merchantIndex = random.chance(0.75) && !population.testingMerchants.isEmpty
            ? random.pick(population.testingMerchants) : population.merchantPopularity.draw(&random)
        let merchant = population.merchants[merchantIndex]
        let mcc = MerchantCatalog.categories[merchant.category].mcc
        let currency = World.all[victim.home].currency
        let cashOut = size >= 4 && random.chance(0.3)
        var time = start
        return (0..<size).map { i in
            if i > 0 { time += Int64(random.int(in: 4_000...90_000)) }
            let usd = cashOut && i == size - 1 ? random.logNormal(median: 120, sigma: 0.6) : 0.5 + random.unit() * 4.5
            return factory.make(at: time, payer, merchant: merchant.id, mcc: mcc, amount: localAmount(usd: usd, currency: currency),
                                channel: .ecom, type: .payment, scenario: .cardTesting)
        }
    }

    private mutating func accountTakeover(_ size: Int, _ start: Int64, _ population: inout Population, _ factory: inout EventFactory) -> [PaymentEvent] {
        let victimIndex = population.activity.draw(&random)
        let victim = population.accounts[victimIndex]
        let country = random.chance(0.8) ? foreignCountry(than: victim.home) : victim.home
        let payer = EventFactory.Payer(account: victim.id, card: victim.cards[0], device: population.freshDevice(),
                                       ip: World.ip(in: country, &random), ipCountry: country)
        let beneficiary = population.accounts[random.below(population.accounts.count)].id
        let currency = World.all[victim.home].currency
        var time = start
        return (0..<size).map { i in
            if i > 0 { time += Int64(random.int(in: 60_000...1_200_000)) }
            if i == 0, size > 1, random.chance(0.5) {
                // A small probe first: does the session work, is there money?
                return factory.make(at: time, payer, merchant: PlatformMerchants.wallet, mcc: MerchantCatalog.walletTopUp.mcc,
                                    amount: localAmount(usd: 5 + random.unit() * 45, currency: currency), channel: .wallet,
                                    type: .topup, scenario: .accountTakeover)
            }
            let usd = random.logNormal(median: 1500 * victim.spendFactor, sigma: 0.6)
            return factory.make(at: time, payer, merchant: PlatformMerchants.p2p, mcc: MerchantCatalog.transfer.mcc,
                                amount: localAmount(usd: usd, currency: currency), channel: .p2p, type: .transfer,
                                beneficiary: beneficiary, scenario: .accountTakeover)
        }
    }

    private mutating func stolenCard(_ size: Int, _ start: Int64, _ population: inout Population, _ factory: inout EventFactory) -> [PaymentEvent] {
        let victim = population.accounts[random.below(population.accounts.count)]
        let card = random.pick(victim.cards)
        let country = random.chance(0.8) ? foreignCountry(than: card.country) : card.country
        let payer = EventFactory.Payer(account: victim.id, card: card,
                                       device: random.chance(0.9) ? population.freshDevice() : victim.devices[0],
                                       ip: World.ip(in: country, &random), ipCountry: country)
        var time = start
        return (0..<size).map { i in
            if i > 0 { time += Int64(random.int(in: 180_000...5_400_000)) }
            let merchantIndex = random.chance(0.85) && !population.highRiskMerchants.isEmpty
                ? random.pick(population.highRiskMerchants) : population.merchantPopularity.draw(&random)
            let merchant = population.merchants[merchantIndex]
            let category = MerchantCatalog.categories[merchant.category]
            let usd = random.logNormal(median: category.medianUSD * 1.8, sigma: 0.6)
            return factory.make(at: time, payer, merchant: merchant.id, mcc: category.mcc,
                                amount: localAmount(usd: usd, currency: World.all[merchant.country].currency),
                                channel: random.chance(0.85) ? .ecom : .pos, type: .payment, scenario: .stolenCard)
        }
    }

    private mutating func muleFanIn(_ size: Int, _ start: Int64, _ population: inout Population, _ factory: inout EventFactory) -> [PaymentEvent] {
        let mule = population.accounts[random.below(population.accounts.count)]
        let senders = size >= 2 ? size - 1 : size
        let spreadMs = Int64(random.int(in: 1...12)) * 3_600_000
        var offsets = (0..<senders).map { _ in Int64(random.unit() * Double(spreadMs)) }
        offsets.sort()
        var totalUSD = 0.0
        var events: [PaymentEvent] = []
        for offset in offsets {
            // Scam victims pay from their own phone and home IP: only the fan-in gives them away.
            let sender = population.accounts[population.activity.draw(&random)]
            let payer = EventFactory.Payer(account: sender.id, card: sender.cards[0], device: sender.devices[0],
                                           ip: sender.ips[0], ipCountry: sender.home)
            let usd = random.logNormal(median: 700, sigma: 0.5)
            totalUSD += usd
            events.append(factory.make(at: start + offset, payer, merchant: PlatformMerchants.p2p, mcc: MerchantCatalog.transfer.mcc,
                                       amount: localAmount(usd: usd, currency: World.all[sender.home].currency),
                                       channel: .p2p, type: .transfer, beneficiary: mule.id, scenario: .muleFanIn))
        }
        if size >= 2 {
            let time = start + offsets.last! + Int64(random.int(in: 1_800_000...10_800_000))
            let payer = EventFactory.Payer(account: mule.id, card: mule.cards[0], device: mule.devices[0], ip: mule.ips[0], ipCountry: mule.home)
            let currency = World.all[mule.home].currency
            let atm = random.chance(0.5)
            events.append(factory.make(
                at: time, payer,
                merchant: atm ? PlatformMerchants.atm(in: mule.home, &random) : PlatformMerchants.wallet,
                mcc: atm ? MerchantCatalog.atm.mcc : MerchantCatalog.transfer.mcc,
                amount: localAmount(usd: totalUSD * 0.9, currency: currency, roundTo: atm ? PlatformMerchants.noteSize(currency) : 0),
                channel: atm ? .pos : .wallet, type: .withdrawal, scenario: .muleFanIn
            ))
        }
        return events
    }

    private mutating func impossibleTravel(
        _ size: Int, _ start: Int64, _ population: inout Population, _ factory: inout EventFactory, legitBudget: inout Int
    ) -> [PaymentEvent] {
        let victim = population.accounts[population.activity.draw(&random)]
        var events: [PaymentEvent] = []
        var time = start
        if legitBudget > 0 {
            // The real customer, at home, minutes before someone elsewhere uses the account.
            legitBudget -= 1
            let merchant = population.merchants[random.pick(victim.favourites)]
            let category = MerchantCatalog.categories[merchant.category]
            let payer = EventFactory.Payer(account: victim.id, card: victim.cards[0], device: victim.devices[0], ip: victim.ips[0], ipCountry: victim.home)
            events.append(factory.make(at: time, payer, merchant: merchant.id, mcc: category.mcc,
                                       amount: localAmount(usd: random.logNormal(median: category.medianUSD, sigma: category.sigma), currency: World.all[victim.home].currency),
                                       channel: .pos, type: .payment))
        }
        var country = victim.home
        let device = random.chance(0.5) ? victim.devices[0] : population.freshDevice()
        for _ in 0..<size {
            time += Int64(random.int(in: 120_000...2_400_000))
            var next = foreignCountry(than: victim.home)
            if next == country { next = foreignCountry(than: country) }
            country = next
            let payer = EventFactory.Payer(account: victim.id, card: victim.cards[0], device: device, ip: World.ip(in: country, &random), ipCountry: country)
            let merchant = population.merchants[population.merchantPopularity.draw(&random)]
            let category = MerchantCatalog.categories[merchant.category]
            events.append(factory.make(at: time, payer, merchant: merchant.id, mcc: category.mcc,
                                       amount: localAmount(usd: random.logNormal(median: 150, sigma: 0.8), currency: World.all[victim.home].currency),
                                       channel: .ecom, type: .payment, scenario: .impossibleTravel))
        }
        return events
    }
}
