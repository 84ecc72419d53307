/// A kind of merchant: its category code, how much people typically spend there, how often it is
/// paid online, and how popular it is. High-risk categories (resellable goods, quasi-cash) are
/// where stolen cards get spent.
struct MerchantCategory: Sendable {
    let mcc: String
    let medianUSD: Double
    /// Spread of the amount in log space.
    let sigma: Double
    /// Share of payments made online (the rest in person).
    let onlineShare: Double
    let popularity: Double
    let highRisk: Bool
}

enum MerchantCatalog {
    static let categories: [MerchantCategory] = [
        MerchantCategory(mcc: "5411", medianUSD: 45, sigma: 0.7, onlineShare: 0.10, popularity: 20, highRisk: false), // grocery
        MerchantCategory(mcc: "5812", medianUSD: 35, sigma: 0.6, onlineShare: 0.05, popularity: 14, highRisk: false), // restaurants
        MerchantCategory(mcc: "5814", medianUSD: 12, sigma: 0.5, onlineShare: 0.20, popularity: 12, highRisk: false), // fast food
        MerchantCategory(mcc: "5541", medianUSD: 50, sigma: 0.4, onlineShare: 0.00, popularity: 8, highRisk: false), // fuel
        MerchantCategory(mcc: "5912", medianUSD: 25, sigma: 0.6, onlineShare: 0.15, popularity: 5, highRisk: false), // pharmacy
        MerchantCategory(mcc: "5311", medianUSD: 80, sigma: 0.8, onlineShare: 0.35, popularity: 5, highRisk: false), // department store
        MerchantCategory(mcc: "5691", medianUSD: 70, sigma: 0.7, onlineShare: 0.45, popularity: 5, highRisk: false), // clothing
        MerchantCategory(mcc: "5999", medianUSD: 40, sigma: 0.9, onlineShare: 0.50, popularity: 6, highRisk: false), // misc retail
        MerchantCategory(mcc: "4121", medianUSD: 22, sigma: 0.5, onlineShare: 0.95, popularity: 6, highRisk: false), // rideshare
        MerchantCategory(mcc: "5815", medianUSD: 4, sigma: 0.9, onlineShare: 1.00, popularity: 6, highRisk: false), // digital goods
        MerchantCategory(mcc: "4899", medianUSD: 30, sigma: 0.5, onlineShare: 1.00, popularity: 4, highRisk: false), // subscriptions
        MerchantCategory(mcc: "8398", medianUSD: 25, sigma: 0.8, onlineShare: 0.90, popularity: 1, highRisk: false), // charities
        MerchantCategory(mcc: "4511", medianUSD: 450, sigma: 0.6, onlineShare: 0.95, popularity: 2, highRisk: true), // airlines
        MerchantCategory(mcc: "7011", medianUSD: 250, sigma: 0.6, onlineShare: 0.80, popularity: 2, highRisk: false), // hotels
        MerchantCategory(mcc: "5732", medianUSD: 350, sigma: 0.8, onlineShare: 0.60, popularity: 3, highRisk: true), // electronics
        MerchantCategory(mcc: "5944", medianUSD: 600, sigma: 0.7, onlineShare: 0.40, popularity: 1, highRisk: true), // jewelry
        MerchantCategory(mcc: "6051", medianUSD: 300, sigma: 0.8, onlineShare: 1.00, popularity: 1, highRisk: true), // quasi-cash, crypto
        MerchantCategory(mcc: "7995", medianUSD: 100, sigma: 0.9, onlineShare: 0.90, popularity: 1, highRisk: true), // gambling
    ]

    /// Categories for the platform's own flows, not drawn for ordinary payments.
    static let transfer = MerchantCategory(mcc: "4829", medianUSD: 80, sigma: 0.9, onlineShare: 1, popularity: 0, highRisk: false)
    static let atm = MerchantCategory(mcc: "6011", medianUSD: 120, sigma: 0.6, onlineShare: 0, popularity: 0, highRisk: false)
    static let walletTopUp = MerchantCategory(mcc: "6540", medianUSD: 100, sigma: 0.8, onlineShare: 1, popularity: 0, highRisk: false)

    static let popularity = WeightedTable(weights: categories.map(\.popularity))
    static let highRisk = categories.indices.filter { categories[$0].highRisk }
    /// Where card testers probe: cheap online purchases that rarely get a second look.
    static let testingFriendly = categories.indices.filter { ["5815", "8398", "5999", "4899"].contains(categories[$0].mcc) }
}
