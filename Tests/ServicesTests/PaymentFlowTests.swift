import FraudCore
import Foundation
import Hummingbird
import Logging
import Prometheus
import Testing
@testable import Services
import LocalStackSupport

/// Holds what the payment service published, in order; stands in for the broker so the flow
/// through real HTTP and PostgreSQL can be driven step by step (the Kafka path has its own test).
actor PublishedRecords: RecordPublisher {
    private(set) var records: [(topic: String, key: String, value: [UInt8])] = []

    nonisolated func publish(topic: String, key: String, value: [UInt8]) async throws {
        await append(topic, key, value)
    }

    /// Kept as text like every key here; the Kafka publisher's byte-exact path is tested against
    /// the broker (PoisonRecordTests).
    nonisolated func publish(topic: String, rawKey: [UInt8]?, value: [UInt8]) async throws {
        await append(topic, String(decoding: rawKey ?? [], as: UTF8.self), value)
    }

    private func append(_ topic: String, _ key: String, _ value: [UInt8]) { records.append((topic, key, value)) }

    func consumed(_ topic: String) -> [ConsumedRecord] {
        records.enumerated().filter { $0.element.topic == topic }.map {
            ConsumedRecord(topic: topic, partition: 0, offset: Int64($0.offset), key: Array($0.element.key.utf8), value: $0.element.value)
        }
    }
}

/// The three services wired together on loopback: wallet and payment over real HTTP, both on
/// a fresh PostgreSQL database; decisions are delivered by calling the consumers' handlers with
/// the records a broker would carry.
struct Platform: Sendable {
    let database: Database
    let ledger: WalletLedger
    let published: PublishedRecords
    /// The payment service's outbox relay, publishing to `published`; drained on demand.
    let relay: OutboxRelay
    let payments: JSONClient
    let wallet: JSONClient
    let paymentConsumer: DecisionApplier
    let walletConsumer: SettlementConsumer
    let recorder: TopicRecorder
    let reconciler: Reconciler

    /// - Parameters:
    ///   - scorer: set for the payment service's synchronous mode.
    ///   - clock: the payment service's clock.
    ///   - occurredAtBounds: how far from `clock` a client's occurred_at may be.
    static func with(scorer: (any EngineScorer)? = nil, clock: @escaping @Sendable () -> EventTime = Services.WallClock.now,
                     occurredAtBounds: OccurredAtBounds = .default, _ body: @Sendable (Platform) async throws -> Void) async throws {
        try await TestDatabase.with { database in
            let logger = TestDatabase.logger
            let registry = PrometheusCollectorRegistry()
            let ledger = WalletLedger(database: database)
            let walletMetrics = WalletMetrics(registry: registry)
            let walletRouter = LiveServer.authenticatedRouter()
            WalletRoutes(ledger: ledger, metrics: walletMetrics).add(to: walletRouter)
            try await LiveServer.with(walletRouter) { walletPort in
                let published = PublishedRecords()
                let store = PaymentStore(database: database)
                let metrics = PaymentMetrics(registry: registry)
                let processor = PaymentProcessor(
                    store: store, wallet: HTTPWalletClient(baseURL: "http://127.0.0.1:\(walletPort)", credential: .testKey, timeout: .seconds(60)),
                    scorer: scorer, paymentsTopic: "payments", metrics: metrics, logger: logger, clock: clock,
                    occurredAtBounds: occurredAtBounds)
                let paymentRouter = LiveServer.authenticatedRouter()
                PaymentRoutes(processor: processor, store: store, reviewsTopic: "payment-reviews").add(to: paymentRouter)
                try await LiveServer.with(paymentRouter) { paymentPort in
                    let reconciler = Reconciler(database: database, deadline: .init(milliseconds: 0), metrics: ReconciliationMetrics(registry: registry))
                    try await body(Platform(
                        database: database, ledger: ledger, published: published, relay: OutboxRelay(database: database, publisher: published),
                        payments: JSONClient(base: "http://127.0.0.1:\(paymentPort)"),
                        wallet: JSONClient(base: "http://127.0.0.1:\(walletPort)"),
                        paymentConsumer: DecisionApplier(store: store, metrics: metrics, logger: logger),
                        walletConsumer: SettlementConsumer(ledger: ledger, metrics: walletMetrics, decisionsTopic: "fraud-decisions",
                                                           reviewsTopic: "payment-reviews", logger: logger),
                        recorder: TopicRecorder(reconciler: reconciler, paymentsTopic: "payments", logger: logger),
                        reconciler: reconciler))
                }
            }
        }
    }

    /// The engine's side: a decision record for each published payment, by the given rule.
    func decide(_ outcome: @Sendable (PaymentEvent) -> Outcome) async throws -> [ConsumedRecord] {
        var decisions: [ConsumedRecord] = []
        for (index, record) in try await publishedPayments().enumerated() {
            let event = try EventDecoder().decode(record.value)
            decisions.append(Self.decisionRecord(event.paymentID, outcome(event), offset: Int64(index)))
        }
        return decisions
    }

    static func decisionRecord(_ paymentID: String, _ outcome: Outcome, offset: Int64) -> ConsumedRecord {
        let decision = Decision(
            paymentID: paymentID, outcome: outcome, modelScore: 0.125, riskPoints: outcome == .approve ? 0 : 40,
            reasons: outcome == .approve ? [] : [.rule(RuleReason(rule: "velocity_card_10m", action: outcome == .review ? .review : .decline,
                                                                    points: 40, shadow: false, values: [NamedValue(name: "count(card_fingerprint,10m)", value: .int(7))]))],
            rulesVersion: "sha256:test", modelVersion: "test", featuresDegraded: false,
            eventTime: EventTime(millisecondsSinceEpoch: 1_795_000_000_000), decidedAt: EventTime(millisecondsSinceEpoch: 1_795_000_000_050 + offset),
            latencyMicros: 900)
        return ConsumedRecord(topic: "fraud-decisions", partition: 0, offset: offset, key: Array(paymentID.utf8), value: DecisionEncoder().encode(decision))
    }

    /// Every consumer sees every decision, as each service's consumer group would.
    func deliver(_ decisions: [ConsumedRecord]) async throws {
        try await paymentConsumer.handle(decisions)
        try await walletConsumer.handle(decisions)
        try await recorder.handle(try await publishedPayments() + decisions)
    }

    /// What reached `payments` once the outbox relay published everything owed.
    func publishedPayments() async throws -> [ConsumedRecord] {
        try await relay.drain()
        return await published.consumed("payments")
    }

    /// A payment request without `occurred_at` (the service stamps it), or with `occurredAt`.
    static func request(account: String, amount: Int64, merchant: String = "m-1", occurredAt: String? = nil) -> PaymentRequest {
        var request = PaymentRequest(PaymentEvent(
            paymentID: "", occurredAt: EventTime(millisecondsSinceEpoch: 0), accountID: account,
            cardFingerprint: "card-\(account)", deviceID: "dev-1", ip: "203.0.113.7", merchantID: merchant, mcc: "5411",
            amount: Money(minorUnits: amount, currency: .usd), cardCountry: "US", ipCountry: "US", channel: .ecom, type: .payment))
        request.occurredAt = occurredAt
        return request
    }
}

// Needs PostgreSQL: runs under scripts/test (WAQITI_INTEGRATION=1), skipped loudly otherwise.
@Suite("Payment flow over HTTP and PostgreSQL", .enabled(if: LocalStack.isEnabled, LocalStack.skipMessage))
struct PaymentFlowTests {
    @Test func fiftyConcurrentPaymentsAgainstFundsForTenCaptureExactlyTen() async throws {
        try await Platform.with { platform in
            #expect(try await platform.wallet.post("/api/v1/wallets/acc-50/topups", ["amount_minor": "25000", "currency": "USD", "reference": "fund-1"]).status == 400)
            let topUp = try await platform.wallet.send("POST", "/api/v1/wallets/acc-50/topups",
                                                       json: Data(#"{"amount_minor":25000,"currency":"USD","reference":"fund-1"}"#.utf8))
            #expect(topUp.status == 201)
            let replies = try await withThrowingTaskGroup(of: JSONClient.Reply.self) { group in
                for i in 0..<50 {
                    group.addTask {
                        try await platform.payments.post("/api/v1/payments", Platform.request(account: "acc-50", amount: 2_500),
                                                         headers: ["Idempotency-Key": "k-\(i)"])
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(replies.filter { $0.status != 201 }.map { "\($0.status) \(String(decoding: $0.body, as: UTF8.self))" } == [])
            #expect(replies.filter { $0.string("status") == "pending" }.count == 10)
            #expect(replies.filter { $0.string("decline_reason") == "insufficient_funds" }.count == 40)
            #expect(try await platform.publishedPayments().count == 10)

            try await platform.deliver(try await platform.decide { _ in .approve })
            let wallet = try await platform.wallet.get("/api/v1/wallets/acc-50")
            let balances = wallet.json["balances"] as? [[String: Any]]
            #expect(balances?.first?["available_minor"] as? Int == 0)
            #expect(balances?.first?["held_minor"] as? Int == 0)
            #expect(try await TestDatabase.scalar("SELECT count(*)::BIGINT FROM wallet.holds WHERE status = 'captured'", as: Int64.self, in: platform.database) == 10)
            #expect(try await TestDatabase.scalar("SELECT count(*)::BIGINT FROM payments.payments WHERE status = 'approved'", as: Int64.self, in: platform.database) == 10)
            let report = try await platform.reconciler.report()
            #expect(report.totalBreaks == 0)
            #expect(report.settlements.map(\.totalMinor) == [25_000])
            #expect(report.settlements.map(\.captures) == [10])
        }
    }

    @Test func aRepeatedIdempotencyKeyReturnsTheSamePaymentAndPublishesOnce() async throws {
        try await Platform.with { platform in
            try await platform.ledger.topUp(walletID: "acc-i", amount: Money(minorUnits: 10_000, currency: .usd), reference: "t")
            let request = Platform.request(account: "acc-i", amount: 1_000)
            let first = try await platform.payments.post("/api/v1/payments", request, headers: ["Idempotency-Key": "same"])
            let second = try await platform.payments.post("/api/v1/payments", request, headers: ["Idempotency-Key": "same"])
            #expect(first.status == 201)
            #expect(second.status == 200)
            #expect(second.headers["idempotent-replayed"] == "true")
            #expect(first.string("payment_id") != nil)
            #expect(second.string("payment_id") == first.string("payment_id"))
            #expect(try await platform.publishedPayments().count == 1)
            #expect(try await platform.ledger.view(walletID: "acc-i")?.balances.first?.heldMinor == 1_000)

            var changed = request
            changed.amountMinor = 1_001
            let reused = try await platform.payments.post("/api/v1/payments", changed, headers: ["Idempotency-Key": "same"])
            #expect(reused.status == 422)
            #expect(reused.string("error") == "idempotency_key_reused")
            let missing = try await platform.payments.post("/api/v1/payments", request)
            #expect(missing.status == 400)
            #expect(missing.string("error") == "idempotency_key_required")
        }
    }

    @Test("invalid fields are refused with the field named", arguments: [
        ("currency", "\"usd\"", "field 'currency' 'usd' is not an ISO 4217 code; use three capital letters such as USD"),
        ("amount_minor", "0", "field 'amount_minor' must be a positive integer of minor units, got 0"),
        ("amount_minor", "12.5", "field 'amount_minor' must be an integer"),
        ("amount_minor", "1000000000000001", "field 'amount_minor' must be at most 1000000000000000 minor units (10^15), got 1000000000000001"),
        ("ip", "\"999.1.1.1\"", "field 'ip' '999.1.1.1' is not an IPv4 or IPv6 address"),
        ("mcc", "\"54\"", "field 'mcc' '54' is not a four-digit ISO 18245 merchant category code"),
        ("channel", "\"atm\"", "field 'channel' 'atm' is not one of ecom, pos, p2p, wallet"),
        // Refused by the engine's EventDecoder: stored, such a payment stayed pending with its hold.
        ("metadata", #"{"":"x"}"#, "field 'metadata key' must not be empty"),
        ("metadata", #"{"order":"4\u00002"}"#, "field 'metadata.order' contains the NUL character (U+0000), which no id or text may carry"),
        ("account_id", #""acc\u0000-1""#, "field 'account_id' contains the NUL character (U+0000), which no id or text may carry"),
    ])
    func invalidRequests(field: String, value: String, message: String) async throws {
        try await Platform.with { platform in
            var body = try JSONSerialization.jsonObject(with: JSONEncoder().encode(Platform.request(account: "a", amount: 1))) as! [String: Any]
            body[field] = try JSONSerialization.jsonObject(with: Data(value.utf8), options: .fragmentsAllowed)
            let reply = try await platform.payments.send("POST", "/api/v1/payments", json: try JSONSerialization.data(withJSONObject: body),
                                                         headers: ["Idempotency-Key": "bad"])
            #expect(reply.status == 400)
            #expect(reply.string("message") == message)
            #expect(try await TestDatabase.scalar("SELECT count(*)::BIGINT FROM payments.payments", as: Int64.self, in: platform.database) == 0)
        }
    }

    @Test func topUpsAndHoldsAboveTheLimitAreRefusedWithTheFieldNamed() async throws {
        try await Platform.with { platform in
            // Before the limit this drove the funding account to -(2^63-1); every later top-up failed.
            let huge = try await platform.wallet.send("POST", "/api/v1/wallets/acc-h/topups",
                                                      json: Data(#"{"amount_minor":9223372036854775807,"currency":"USD","reference":"h"}"#.utf8))
            #expect(huge.status == 400)
            #expect(huge.string("message") == "field 'amount_minor' must be at most 1000000000000000 minor units (10^15), got 9223372036854775807")
            let atLimit = try await platform.wallet.send("POST", "/api/v1/wallets/acc-h/topups",
                                                         json: Data(#"{"amount_minor":1000000000000000,"currency":"USD","reference":"l"}"#.utf8))
            #expect(atLimit.status == 201)
            let hold = try await platform.wallet.send("POST", "/api/v1/holds", json: Data(
                #"{"payment_id":"p","wallet_id":"acc-h","merchant_id":"m","amount_minor":1000000000000001,"currency":"USD"}"#.utf8))
            #expect(hold.status == 400)
            #expect(hold.string("message") == "field 'amount_minor' must be at most 1000000000000000 minor units (10^15), got 1000000000000001")
            #expect(try await platform.ledger.view(walletID: "acc-h")?.balances.first?.availableMinor == Money.maximumMinorUnits)
        }
    }

    @Test func aReviewIsResolvedByAnAnalystAndTheWalletCapturesOnce() async throws {
        try await Platform.with { platform in
            try await platform.ledger.topUp(walletID: "acc-r", amount: Money(minorUnits: 5_000, currency: .usd), reference: "t")
            let created = try await platform.payments.post("/api/v1/payments", Platform.request(account: "acc-r", amount: 4_000),
                                                           headers: ["Idempotency-Key": "r1"])
            let id = try #require(created.string("payment_id"))
            let decisions = try await platform.decide { _ in .review }
            try await platform.deliver(decisions)
            // Redelivery of the same decisions (consumer restarted before committing): no change.
            try await platform.deliver(decisions)
            #expect(try await platform.payments.get("/api/v1/payments/\(id)").string("status") == "in_review")
            let queue = try await platform.payments.get("/api/v1/reviews").json["reviews"] as? [[String: Any]]
            #expect(queue?.compactMap { $0["payment_id"] as? String } == [id])
            #expect(try await platform.ledger.view(walletID: "acc-r")?.balances.first?.heldMinor == 4_000)

            let resolved = try await platform.payments.post("/api/v1/payments/\(id)/review",
                                                            ["decision": "approve", "reviewer": "ana", "note": "called the customer"])
            #expect(resolved.status == 200)
            #expect(resolved.string("status") == "approved")
            let again = try await platform.payments.post("/api/v1/payments/\(id)/review", ["decision": "decline"])
            #expect(again.status == 409)
            #expect(again.string("error") == "not_in_review")
            // The instruction to the wallet was written with the resolution, to the outbox: nothing
            // reaches the broker until the relay publishes what committed.
            #expect(await platform.published.consumed("payment-reviews").isEmpty)
            #expect(try await TestDatabase.scalar(
                "SELECT count(*)::BIGINT FROM payments.outbox WHERE topic = 'payment-reviews' AND sent_at IS NULL", as: Int64.self, in: platform.database) == 1)
            try await platform.relay.drain()
            let reviews = await platform.published.consumed("payment-reviews")
            #expect(reviews.count == 1)
            try await platform.walletConsumer.handle(reviews + reviews)
            let view = try #require(try await platform.ledger.view(walletID: "acc-r"))
            #expect(view.balances == [.init(currency: "USD", availableMinor: 1_000, heldMinor: 0)])
            let decision = try await platform.payments.get("/api/v1/payments/\(id)").json["decision"] as? [String: Any]
            #expect(decision?["decision"] as? String == "review")
            #expect(try await platform.reconciler.report().totalBreaks == 0)
        }
    }

    @Test func statusesOfManyPaymentsInOneRequestWithUnknownIDsListedMissing() async throws {
        try await Platform.with { platform in
            try await platform.ledger.topUp(walletID: "acc-s", amount: Money(minorUnits: 10_000, currency: .usd), reference: "t")
            var ids: [String] = []
            for (index, amount) in [1_000, 2_000, 3_000].enumerated() {
                let created = try await platform.payments.post("/api/v1/payments", Platform.request(account: "acc-s", amount: Int64(amount)),
                                                               headers: ["Idempotency-Key": "s\(index)"])
                ids.append(try #require(created.string("payment_id")))
            }
            let pending = try await platform.payments.post("/api/v1/payments/statuses", ["payment_ids": ids])
            #expect(pending.json["statuses"] as? [String: String] == [ids[0]: "pending", ids[1]: "pending", ids[2]: "pending"])
            let decisions = try await platform.decide { event in
                switch event.amount.minorUnits {
                case 2_000: .decline
                case 3_000: .review
                default: .approve
                }
            }
            try await platform.deliver(decisions)

            let reply = try await platform.payments.post("/api/v1/payments/statuses", ["payment_ids": [ids[0], "no-such-payment", ids[1], ids[2]]])
            #expect(reply.status == 200)
            #expect(reply.json["statuses"] as? [String: String] == [ids[0]: "approved", ids[1]: "declined", ids[2]: "in_review"])
            #expect(reply.json["missing"] as? [String] == ["no-such-payment"])

            let empty = try await platform.payments.post("/api/v1/payments/statuses", ["payment_ids": [String]()])
            #expect(empty.status == 400)
            #expect(empty.string("message") == "field 'payment_ids' must hold 1 to 1000 ids, got 0; split a longer list into several requests")
            let tooMany = try await platform.payments.post("/api/v1/payments/statuses", ["payment_ids": (0...1_000).map { "p-\($0)" }])
            #expect(tooMany.status == 400)
            #expect(tooMany.string("message") == "field 'payment_ids' must hold 1 to 1000 ids, got 1001; split a longer list into several requests")
            let blank = try await platform.payments.post("/api/v1/payments/statuses", ["payment_ids": [ids[0], ""]])
            #expect(blank.status == 400)
            #expect(blank.string("message") == "field 'payment_ids[1]' must be 1 to 255 characters")
        }
    }

    @Test func aPaymentLeftReceivedWithItsHoldPlacedIsResumedAndAHoldNoDecisionSettlesIsReported() async throws {
        try await Platform.with { platform in
            try await platform.ledger.topUp(walletID: "acc-h", amount: Money(minorUnits: 10_000, currency: .usd), reference: "t")
            let store = PaymentStore(database: platform.database)
            // Payment 1: the wallet placed the hold but its answer never came back, and the
            // client never retried: stored `received`, funds held.
            let stuck = try Platform.request(account: "acc-h", amount: 3_000).validated(paymentID: "pay-stuck", now: Services.WallClock.now())
            _ = try await store.insertOrFetch(stuck, idempotencyKey: "k-stuck", fingerprint: "f-stuck")
            try await platform.ledger.hold(HoldRequest(paymentID: "pay-stuck", walletID: "acc-h", merchantID: "m-1", amount: stuck.amount))
            // Payment 2: declined before scoring while a racing retry's hold went through.
            let declined = try Platform.request(account: "acc-h", amount: 2_000).validated(paymentID: "pay-declined", now: Services.WallClock.now())
            _ = try await store.insertOrFetch(declined, idempotencyKey: "k-declined", fingerprint: "f-declined")
            try await platform.ledger.hold(HoldRequest(paymentID: "pay-declined", walletID: "acc-h", merchantID: "m-1", amount: declined.amount))
            #expect(try await store.declineBeforeScoring("pay-declined", reason: .insufficientFunds))

            let before = try await platform.reconciler.report().breaks.first { $0.kind == .heldWithoutOpenPayment }
            #expect(before?.count == 2)
            #expect(before?.examples == ["pay-declined", "pay-stuck"])

            let registry = PrometheusCollectorRegistry()
            let processor = PaymentProcessor(
                store: store, wallet: HTTPWalletClient(baseURL: platform.wallet.base, credential: .testKey, timeout: .seconds(60)),
                paymentsTopic: "payments", metrics: PaymentMetrics(registry: registry), logger: TestDatabase.logger)
            let resumer = PaymentResumer(store: store, processor: processor, after: .zero, logger: TestDatabase.logger)
            #expect(try await resumer.resumeOnce() == 1)
            #expect(try await store.fetch(paymentID: "pay-stuck")?.status == .pending)
            #expect(try await platform.publishedPayments().map { String(decoding: $0.key ?? [], as: UTF8.self) } == ["acc-h"])
            // Held once, not twice: the resumed hold is the one the lost answer placed.
            #expect(try await platform.ledger.view(walletID: "acc-h")?.balances.first?.heldMinor == 5_000)
            #expect(try await resumer.resumeOnce() == 0)

            let after = try await platform.reconciler.report().breaks.first { $0.kind == .heldWithoutOpenPayment }
            #expect(after?.count == 1)
            #expect(after?.examples == ["pay-declined"])
        }
    }

    @Test func reconciliationReportsADeletedDecision() async throws {
        try await Platform.with { platform in
            try await platform.ledger.topUp(walletID: "acc-x", amount: Money(minorUnits: 9_000, currency: .usd), reference: "t")
            var ids: [String] = []
            for i in 0..<3 {
                let reply = try await platform.payments.post("/api/v1/payments", Platform.request(account: "acc-x", amount: 1_000 + Int64(i)),
                                                             headers: ["Idempotency-Key": "x\(i)"])
                ids.append(try #require(reply.string("payment_id")))
            }
            try await platform.deliver(try await platform.decide { $0.amount.minorUnits == 1_001 ? .decline : .approve })
            let clean = try await platform.reconciler.report()
            #expect(clean.totalBreaks == 0)
            #expect(clean.paymentsSeen == 3)
            #expect(clean.decisionsSeen == 3)

            try await platform.database.client.query("DELETE FROM recon.decisions WHERE payment_id = \(ids[2])", logger: TestDatabase.logger)
            let broken = try await platform.reconciler.report()
            #expect(broken.totalBreaks == 1)
            #expect(broken.count(.paymentWithoutDecision) == 1)
            #expect(broken.breaks.first { $0.kind == .paymentWithoutDecision }?.examples == [ids[2]])

            // A second, different decision for a decided payment is a conflict, and moves no money.
            try await platform.deliver([Platform.decisionRecord(ids[0], .decline, offset: 99)])
            let conflicted = try await platform.reconciler.report()
            #expect(conflicted.count(.conflictingDecisions) == 1)
            #expect(try await platform.payments.get("/api/v1/payments/\(ids[0])").string("status") == "approved")
            #expect(conflicted.settlements.map(\.totalMinor) == [1_000 + 1_002])
        }
    }
}
