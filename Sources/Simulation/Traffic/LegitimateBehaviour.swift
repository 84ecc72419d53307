import FraudCore

/// Everyday traffic of one customer: payments at familiar merchants, refunds, transfers to
/// people they know, cash, wallet top-ups. It deliberately includes the innocent look-alikes of
/// fraud (trips abroad, VPNs, new phones, runs of small charges, big rent transfers, landlords paid
/// by many) so that no single signal separates fraud from legitimate traffic.
struct LegitimateBehaviour {
    var random: SimulationRandom

    /// Appends the events of one legitimate action by `accountIndex` at `time` to `events`: the
    /// payment itself, sometimes followed by a few more small charges minutes later (top-ups of a
    /// game, rides of an evening). Appends into the caller's reused array: this runs per event.
    mutating func act(_ accountIndex: Int, at time: Int64, _ population: inout Population, _ factory: inout EventFactory, maxEvents: Int, into events: inout [PaymentEvent]) {
        if random.chance(0.002) {
            // A new phone: from now on the account uses a device never seen before.
            population.accounts[accountIndex].devices[0] = population.freshDevice()
        }
        let account = population.accounts[accountIndex]
        let trip = account.trip.flatMap { time >= $0.start && time < $0.end ? $0.country : nil }
        var payer = EventFactory.Payer(
            account: account.id,
            card: account.cards.count > 1 && random.chance(0.25) ? random.pick(account.cards) : account.cards[0],
            device: account.devices.count > 1 && random.chance(0.2) ? account.devices[1] : account.devices[0],
            ip: random.pick(account.ips), ipCountry: account.home
        )
        if let trip {
            payer.ipCountry = trip
            payer.ip = World.ip(in: trip, &random)
        } else if random.chance(0.01) {
            payer.ip = World.ip(in: account.home, &random) // mobile network, café Wi-Fi
        }
        let currency = World.all[account.home].currency
        let roll = random.unit()
        if roll < 0.80 {
            payment(account, &payer, trip: trip, time: time, population, &factory, maxEvents: maxEvents, into: &events)
        } else if roll < 0.83 {
            let merchant = population.merchants[random.pick(account.favourites)]
            let category = MerchantCatalog.categories[merchant.category]
            let amount = localAmount(usd: random.logNormal(median: category.medianUSD * account.spendFactor, sigma: category.sigma), currency: currency)
            events.append(factory.make(at: time, payer, merchant: merchant.id, mcc: category.mcc, amount: amount,
                                 channel: random.chance(category.onlineShare) ? .ecom : .pos, type: .refund))
        } else if roll < 0.90 {
            let payee: Int
            if random.chance(0.12) { payee = random.pick(population.hubs) }
            else if random.chance(0.05) { payee = random.below(population.accounts.count) }
            else { payee = random.pick(account.payees) }
            let usd = random.chance(0.05) ? random.logNormal(median: 1200, sigma: 0.4) : random.logNormal(median: 60 * account.spendFactor, sigma: 0.9)
            events.append(factory.make(at: time, payer, merchant: PlatformMerchants.p2p, mcc: MerchantCatalog.transfer.mcc,
                                 amount: localAmount(usd: usd, currency: currency), channel: .p2p, type: .transfer,
                                 beneficiary: population.accounts[payee].id))
        } else if roll < 0.94 {
            let country = trip ?? account.home
            let cash = World.all[country].currency
            let amount = localAmount(usd: random.logNormal(median: 120, sigma: 0.6), currency: cash, roundTo: PlatformMerchants.noteSize(cash))
            events.append(factory.make(at: time, payer, merchant: PlatformMerchants.atm(in: country, &random), mcc: MerchantCatalog.atm.mcc,
                                 amount: amount, channel: .pos, type: .withdrawal))
        } else {
            let amount = localAmount(usd: random.logNormal(median: 100, sigma: 0.8), currency: currency, roundTo: 10)
            events.append(factory.make(at: time, payer, merchant: PlatformMerchants.wallet, mcc: MerchantCatalog.walletTopUp.mcc,
                                 amount: amount, channel: .wallet, type: .topup))
        }
    }

    private mutating func payment(
        _ account: Account, _ payer: inout EventFactory.Payer, trip: Int?, time: Int64,
        _ population: Population, _ factory: inout EventFactory, maxEvents: Int, into events: inout [PaymentEvent]
    ) {
        let merchantIndex: Int
        if let trip, random.chance(0.7), !population.merchantsByCountry[trip].isEmpty {
            merchantIndex = random.pick(population.merchantsByCountry[trip])
        } else if random.chance(0.7) {
            merchantIndex = random.pick(account.favourites)
        } else {
            merchantIndex = population.merchantPopularity.draw(&random)
        }
        let merchant = population.merchants[merchantIndex]
        let category = MerchantCatalog.categories[merchant.category]
        let online = random.chance(category.onlineShare)
        if online, trip == nil, account.usesVPN, random.chance(0.3) {
            payer.ipCountry = random.below(World.all.count)
            payer.ip = World.ip(in: payer.ipCountry, &random)
        }
        let channel: Channel = online ? .ecom : (random.chance(0.15) ? .wallet : .pos)
        let currency = World.all[!online && trip != nil ? trip! : account.home].currency
        let usd = random.logNormal(median: category.medianUSD * account.spendFactor, sigma: category.sigma)
        events.append(factory.make(at: time, payer, merchant: merchant.id, mcc: category.mcc,
                                   amount: localAmount(usd: usd, currency: currency), channel: channel, type: .payment))
        // Runs of small charges at one merchant are normal for digital goods and rides: the
        // innocent twin of card testing.
        if category.medianUSD < 25, online, random.chance(0.06) {
            var next = time
            for _ in 0..<min(random.int(in: 1...4), maxEvents - 1) {
                next += Int64(random.int(in: 20_000...600_000))
                let small = localAmount(usd: random.logNormal(median: category.medianUSD * 0.6, sigma: 0.6), currency: currency)
                events.append(factory.make(at: next, payer, merchant: merchant.id, mcc: category.mcc, amount: small, channel: channel, type: .payment))
            }
        }
    }
}
