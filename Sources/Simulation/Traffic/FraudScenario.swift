/// The labeled fraud patterns mixed into simulated traffic; each fraud event carries its name in
/// `metadata.scenario`.
public enum FraudScenario: String, CaseIterable, Hashable, Sendable {
    /// Bursts of tiny online charges on one card within minutes, probing whether it works.
    case cardTesting = "card_testing"
    /// A new device and an IP in another country, then large transfers to a new beneficiary.
    case accountTakeover = "account_takeover"
    /// Big-ticket spending at unfamiliar high-risk merchants, card country ≠ IP country.
    case stolenCard = "stolen_card"
    /// Many accounts pay one beneficiary within hours; the beneficiary then withdraws the sum.
    case muleFanIn = "mule_fan_in"
    /// An account's IP country changes within minutes, faster than anyone can travel.
    case impossibleTravel = "impossible_travel"

    /// Share of fraud episodes (not events) of each kind.
    var episodeShare: Double {
        switch self {
        case .cardTesting: 0.25
        case .accountTakeover: 0.2
        case .stolenCard: 0.25
        case .muleFanIn: 0.1
        case .impossibleTravel: 0.2
        }
    }

    /// Fraud events in one episode.
    func episodeSize(_ random: inout SimulationRandom) -> Int {
        switch self {
        case .cardTesting: random.int(in: 4...20)
        case .accountTakeover: random.int(in: 1...4)
        case .stolenCard: random.int(in: 2...6)
        case .muleFanIn: random.int(in: 6...16)
        case .impossibleTravel: random.int(in: 1...3)
        }
    }
}
