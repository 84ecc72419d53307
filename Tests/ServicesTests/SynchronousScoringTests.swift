import Engine
import Features
import FraudCore
import Foundation
import Hummingbird
import Logging
import Rules
import Server
import Testing
@testable import Services
import LocalStackSupport

/// The real engine (rules, in-memory windows, decision cache) behind its real HTTP server on a
/// loopback port, as `waqiti serve --http-only` runs it.
enum LiveEngine {
    static let apiKey = "sync-engine-key-0123456789"

    static func with(idleTimeout: EventDuration = EngineConfiguration.HTTP().idleTimeout, _ body: @Sendable (Int) async throws -> Void) async throws {
        var configuration = EngineConfiguration()
        configuration.http.port = 0
        configuration.http.idleTimeout = idleTimeout
        configuration.http.apiKeys = [APIKey(name: "payment-tests", scopes: [.scoreUpdate], key: apiKey)]
        let rules = try RuleSet.compile(RulesSource(path: "sync.rules", text: """
            version "sync-1"
            rule sync_big_ticket: decline +60 if amount > 500.00 USD
            """) { _ in [] })
        let engine = DecisionEngine(
            rules: { rules }, model: { nil },
            features: FeatureRouter(local: InMemoryFeatureStore(), shared: nil, storeOf: { _ in .memory }, probeInterval: .seconds(1), logger: TestDatabase.logger),
            cache: InMemoryDecisionCache(capacity: 1000), degradedPolicy: .decide)
        let settings = configuration
        try await LiveServer.withPort({ listening in
            try await FraudHTTPServer.makeApplication(engine: engine, configuration: settings, health: [], logger: TestDatabase.logger,
                                                      onServerRunning: listening).runService()
        }, body)
    }
}

// Needs PostgreSQL: runs under scripts/test (WAQITI_INTEGRATION=1), skipped loudly otherwise.
@Suite("Synchronous scoring against the real engine over HTTP", .enabled(if: LocalStack.isEnabled, LocalStack.skipMessage))
struct SynchronousScoringTests {
    static func credential(_ key: String) throws -> ServiceCredential {
        var configuration = ServicesConfiguration()
        configuration.apiKeys = [APIKey(name: "payment-tests", scopes: [.scoreUpdate], key: key)]
        return try ServiceCredential(configuration: configuration, subject: "payment-tests", scopes: [.scoreUpdate])
    }

    @Test func theEnginesAnswerIsTheResponseAndTheKafkaCopyChangesNothing() async throws {
        try await LiveEngine.with { enginePort in
            let scorer = HTTPEngineScorer(baseURL: "http://127.0.0.1:\(enginePort)", timeout: .seconds(10), credential: try Self.credential(LiveEngine.apiKey))
            try await Platform.with(scorer: scorer) { platform in
                try await platform.ledger.topUp(walletID: "acc-s", amount: Money(minorUnits: 100_000, currency: .usd), reference: "t")
                let big = try await platform.payments.post("/api/v1/payments", Platform.request(account: "acc-s", amount: 60_000),
                                                           headers: ["Idempotency-Key": "s1"])
                #expect(big.status == 201)
                #expect(big.string("status") == "declined")
                #expect(big.string("decline_reason") == "fraud")
                let decision = big.json["decision"] as? [String: Any]
                #expect((decision?["reasons"] as? [[String: Any]])?.compactMap { $0["rule"] as? String } == ["sync_big_ticket"])
                #expect((decision?["rules_version"] as? String)?.contains("sync-1") == true)

                let small = try await platform.payments.post("/api/v1/payments", Platform.request(account: "acc-s", amount: 1_000),
                                                             headers: ["Idempotency-Key": "s2"])
                #expect(small.string("status") == "approved")
                // Both still go to `payments`, so the engine's stream emits the decisions the wallet settles.
                #expect(try await platform.publishedPayments().count == 2)
                try await platform.deliver(try await platform.decide { $0.amount.minorUnits == 60_000 ? .decline : .approve })
                #expect(try await platform.ledger.view(walletID: "acc-s")?.balances == [.init(currency: "USD", availableMinor: 99_000, heldMinor: 0)])
                #expect(try await platform.payments.get("/api/v1/payments/\(try #require(small.string("payment_id")))").string("status") == "approved")
                #expect(try await platform.reconciler.report().totalBreaks == 0)
            }
        }
    }

    /// A scorer pointed at an engine that is too slow, or that refuses the credential: the
    /// payment is still taken, answered `pending`, and decided from `fraud-decisions`.
    @Test("falls back to the asynchronous path", arguments: ["timeout", "unauthorized"])
    func fallsBackToTheAsynchronousPath(failure: String) async throws {
        let slow = Router(context: BasicRequestContext.self)
        slow.post("/v1/score") { _, _ -> Response in
            try await Task.sleep(for: .seconds(5))
            return Response(status: .ok)
        }
        try await LiveServer.with(slow) { slowPort in
            try await LiveEngine.with { enginePort in
                let scorer = failure == "timeout"
                    ? HTTPEngineScorer(baseURL: "http://127.0.0.1:\(slowPort)", timeout: .milliseconds(200), credential: .anonymous)
                    : HTTPEngineScorer(baseURL: "http://127.0.0.1:\(enginePort)", timeout: .seconds(10), credential: try Self.credential("not-the-engine-key-000"))
                try await Platform.with(scorer: scorer) { platform in
                    try await platform.ledger.topUp(walletID: "acc-f", amount: Money(minorUnits: 10_000, currency: .usd), reference: "t")
                    let started = ContinuousClock.now
                    let reply = try await platform.payments.post("/api/v1/payments", Platform.request(account: "acc-f", amount: 6_000),
                                                                 headers: ["Idempotency-Key": "f1"])
                    #expect(reply.status == 201)
                    #expect(reply.string("status") == "pending")
                    #expect(ContinuousClock.now - started < .seconds(4))
                    #expect(try await platform.publishedPayments().count == 1)
                    try await platform.deliver(try await platform.decide { _ in .approve })
                    let id = try #require(reply.string("payment_id"))
                    #expect(try await platform.payments.get("/api/v1/payments/\(id)").string("status") == "approved")
                    #expect(try await platform.ledger.view(walletID: "acc-f")?.balances == [.init(currency: "USD", availableMinor: 4_000, heldMinor: 0)])
                }
            }
        }
    }
}
