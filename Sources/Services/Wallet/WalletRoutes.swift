import FraudCore
import Hummingbird
import Prometheus
import Server

/// The wallet's HTTP API (port 8082): read a wallet, top it up, and place holds for payments.
///
/// Holds are created by the payment service calling `POST /api/v1/holds` before it publishes the
/// payment (see docs/services.md, "How a hold is created"): that way a payment the wallet cannot
/// fund is declined for funds up front and never reaches the engine, and every decision the
/// wallet later consumes finds its hold already in place.
public struct WalletRoutes: Sendable {
    let ledger: WalletLedger
    let metrics: WalletMetrics

    public init(ledger: WalletLedger, metrics: WalletMetrics) {
        self.ledger = ledger
        self.metrics = metrics
    }

    public func add<Context: RequestContext>(to router: Router<Context>) {
        router.get("/api/v1/wallets/:id") { _, context -> Response in
            try Caller.require(.walletRead)
            let id = try context.parameters.require("id")
            try TextField.check("wallet_id", id)
            guard let view = try await ledger.view(walletID: id) else {
                throw ServiceHTTPError.notFound("wallet '\(id)' has never been funded")
            }
            return try JSONBody.response(view)
        }
        router.post("/api/v1/wallets/:id/topups") { request, context -> Response in
            try Caller.require(.walletTopUp)
            let id = try context.parameters.require("id")
            try TextField.check("wallet_id", id)
            let body = try await JSONBody.decode(TopUpBody.self, from: request)
            let amount = try body.money()
            try TextField.check("reference", body.reference)
            do {
                let journal = try await ledger.topUp(walletID: id, amount: amount, reference: body.reference)
                return try JSONBody.response(["journal_id": journal], status: .created)
            } catch let error as WalletError {
                throw error.httpError
            }
        }
        router.post("/api/v1/holds") { request, _ -> Response in
            try Caller.require(.walletHold)
            let body = try await JSONBody.decode(HoldBody.self, from: request)
            let hold = HoldRequest(paymentID: body.paymentID, walletID: body.walletID, merchantID: body.merchantID, amount: try body.money())
            do {
                let status = try await ledger.hold(hold)
                metrics.holds(.held).increment()
                return try JSONBody.response(["payment_id": hold.paymentID, "status": status.rawValue], status: .created)
            } catch let error as WalletError {
                if case .insufficientFunds = error { metrics.holds(.insufficientFunds).increment() }
                throw error.httpError
            }
        }
    }
}

/// Counters the wallet exports on /metrics.
public struct WalletMetrics: Sendable {
    public enum HoldOutcome: String, CaseIterable, Sendable { case held, insufficientFunds = "insufficient_funds" }

    let holdCounters: [HoldOutcome: Counter]
    let effectCounters: [SettlementEffect: Counter]
    /// Instructions found already applied: the consumer was restarted before committing them.
    let redelivered: Counter

    public init(registry: PrometheusCollectorRegistry) {
        holdCounters = Dictionary(uniqueKeysWithValues: HoldOutcome.allCases.map {
            ($0, registry.makeCounter(descriptor: .init(metricName: "waqiti_wallet_holds_total", unitName: "", helpText: "Holds the wallet was asked for, by outcome."), labels: [("outcome", $0.rawValue)]))
        })
        effectCounters = Dictionary(uniqueKeysWithValues: SettlementEffect.allCases.map {
            ($0, registry.makeCounter(descriptor: .init(metricName: "waqiti_wallet_settlements_total", unitName: "", helpText: "Decisions and review outcomes applied to holds, by effect."), labels: [("effect", $0.rawValue)]))
        })
        redelivered = registry.makeCounter(descriptor: .init(metricName: "waqiti_wallet_redelivered_instructions_total", unitName: "", helpText: "Instructions redelivered after they were applied; they moved no money again."))
    }

    func holds(_ outcome: HoldOutcome) -> Counter { holdCounters[outcome]! }
    func settlements(_ effect: SettlementEffect) -> Counter { effectCounters[effect]! }
}

struct TopUpBody: Decodable {
    var amountMinor: Int64
    var currency: String
    var reference: String

    enum CodingKeys: String, CodingKey {
        case amountMinor = "amount_minor", currency, reference
    }

    func money() throws -> Money { try MoneyField.parse(minor: amountMinor, currency: currency) }
}

/// The body of `POST /api/v1/holds`, sent by the payment service.
public struct HoldBody: Codable, Sendable {
    public var paymentID: String
    public var walletID: String
    public var merchantID: String
    public var amountMinor: Int64
    public var currency: String

    public init(_ request: HoldRequest) {
        paymentID = request.paymentID
        walletID = request.walletID
        merchantID = request.merchantID
        amountMinor = request.amount.minorUnits
        currency = request.amount.currency.code
    }

    enum CodingKeys: String, CodingKey {
        case paymentID = "payment_id", walletID = "wallet_id", merchantID = "merchant_id"
        case amountMinor = "amount_minor", currency
    }

    func money() throws -> Money {
        for (field, value) in [("payment_id", paymentID), ("wallet_id", walletID), ("merchant_id", merchantID)] {
            try TextField.check(field, value)
        }
        return try MoneyField.parse(minor: amountMinor, currency: currency)
    }
}

enum MoneyField {
    /// A positive amount in minor units of an ISO 4217 currency, or a 400 saying which part is wrong.
    static func parse(minor: Int64, currency code: String) throws -> Money {
        guard let currency = Currency(code) else {
            throw ServiceHTTPError.badRequest("field 'currency': '\(code)' is not an ISO 4217 code; use three capital letters such as USD")
        }
        if let problem = amountProblem(minor) { throw ServiceHTTPError.badRequest("field 'amount_minor' \(problem)") }
        return Money(minorUnits: minor, currency: currency)
    }

    /// What is wrong with an amount of minor units any service accepts, or nil. The upper bound
    /// keeps ledger balances and window sums far from 64-bit overflow (`Money.maximumMinorUnits`).
    static func amountProblem(_ minor: Int64) -> String? {
        if minor <= 0 { return "must be a positive integer of minor units, got \(minor)" }
        if minor > Money.maximumMinorUnits { return "must be at most \(Money.maximumMinorUnits) minor units (10^15), got \(minor)" }
        return nil
    }
}

extension WalletError {
    var httpError: ServiceHTTPError {
        switch self {
        case .insufficientFunds: ServiceHTTPError(.init(code: 402, reasonPhrase: "Payment Required"), code: "insufficient_funds", message: description)
        case .unknownWallet: ServiceHTTPError(.notFound, code: "unknown_wallet", message: description)
        case .holdMismatch: ServiceHTTPError(.conflict, code: "hold_mismatch", message: description)
        case .topUpMismatch: ServiceHTTPError(.conflict, code: "topup_mismatch", message: description)
        case .invalidAmount: ServiceHTTPError.badRequest(description)
        }
    }
}
