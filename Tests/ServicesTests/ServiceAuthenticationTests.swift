import Engine
import Foundation
import FraudCore
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import Server
import Testing
@testable import Services
import LocalStackSupport

/// A broker stand-in for services whose consumers have nothing to read in the test.
struct IdleMessaging: Messaging {
    func publisher() throws -> any RecordPublisher { PublishedRecords() }
    func source(groupID: String, topics: [String]) throws -> any RecordSource { IdleSource() }
}

struct IdleSource: RecordSource {
    func poll(maxRecords: Int) async throws -> [ConsumedRecord] {
        try await Task.sleep(for: .milliseconds(50))
        return []
    }
    func commit(_ records: [ConsumedRecord]) async throws {}
    func close() async {}
}

// Needs PostgreSQL: runs under scripts/test (WAQITI_INTEGRATION=1), skipped loudly otherwise.
@Suite("The engine's authentication on every service", .enabled(if: LocalStack.isEnabled, LocalStack.skipMessage))
struct ServiceAuthenticationTests {
    static let apiKey = "services-auth-key-0123456789"
    /// One key a scope, named for it (`only-wallet-topup`), to show what each grants and refuses.
    static let scopedKeys = APIScope.allCases.map { APIKey(name: subject(only: $0), scopes: [$0], key: "services-\($0.rawValue)-0123456789") }
    static func subject(only scope: APIScope) -> String { "only-" + scope.rawValue.replacingOccurrences(of: ":", with: "-") }
    static let jwtSecret = "services-auth-secret-0123456789abcdef"

    /// Runs one service through `PlatformServices` (the `waqiti payment|wallet|reconcile` entry
    /// point) on a fresh database and a free port.
    static func withService(_ name: String, configure: @Sendable (inout ServicesConfiguration) -> Void = { _ in },
                            _ body: @Sendable (JSONClient) async throws -> Void) async throws {
        try await TestDatabase.withURL { _, url in
            let configuration = {
                var configuration = ServicesConfiguration()
                configuration.postgresURL = url
                configuration.httpPort = 0
                configuration.apiKeys = [APIKey(name: "ops", scopes: [.reviewsRead, .metricsRead, .reconciliationRead], key: apiKey)] + scopedKeys
                configuration.jwtSecret = jwtSecret
                configure(&configuration)
                return configuration
            }()
            let logger = TestDatabase.logger
            try await LiveServer.withPort({ listening in
                switch name {
                case "payment": try await PlatformServices.runPayment(configuration: configuration, messaging: IdleMessaging(), logger: logger, onServerRunning: listening)
                case "wallet": try await PlatformServices.runWallet(configuration: configuration, messaging: IdleMessaging(), logger: logger, onServerRunning: listening)
                default: try await PlatformServices.runReconciliation(configuration: configuration, messaging: IdleMessaging(), logger: logger, onServerRunning: listening)
                }
            }) { port in
                try await body(JSONClient(base: "http://127.0.0.1:\(port)", credentials: [:]))
            }
        }
    }

    static func token(expiresIn seconds: Int64) -> String {
        HS256Verifier(secret: jwtSecret).sign(payloadJSON: #"{"sub":"analyst-1","scope":"reviews:read metrics:read reconciliation:read","exp":\#(WallClockSeconds.now() + seconds)}"#)
    }

    /// The exact 403 a credential without `scope` gets.
    static func forbidden(_ subject: String, _ scope: String) -> String {
        #"{"error":{"code":"missing_scope","message":"credential '\#(subject)' lacks the scope '\#(scope)' this request needs; ask for a key or token that grants it (docs/api.md, Authentication)","scope":"\#(scope)","status":403}}"#
    }

    @Test("401 without a valid credential, 200 with an API key or a JWT", arguments: [
        ("payment", "/api/v1/reviews"),
        ("wallet", "/metrics"),
        ("reconciliation", "/api/v1/reconciliation/report"),
    ])
    func authenticates(service: String, path: String) async throws {
        try await Self.withService(service) { client in
            let anonymous = try await client.get(path)
            #expect(anonymous.status == 401)
            #expect((anonymous.json["error"] as? [String: Any])?["message"] as? String
                    == "missing credentials: send X-API-Key or Authorization: Bearer <HS256 JWT>")
            let wrongKey = try await client.send("GET", path, headers: ["X-API-Key": "not-a-key-of-this-platform"])
            #expect(wrongKey.status == 401)
            #expect((wrongKey.json["error"] as? [String: Any])?["message"] as? String == "unknown API key")
            let expired = try await client.send("GET", path, headers: ["Authorization": "Bearer " + Self.token(expiresIn: -3600)])
            #expect(expired.status == 401)
            #expect((expired.json["error"] as? [String: Any])?["message"] as? String == "invalid bearer token: token expired")

            #expect(try await client.send("GET", path, headers: ["X-API-Key": Self.apiKey]).status == 200)
            #expect(try await client.send("GET", path, headers: ["Authorization": "Bearer " + Self.token(expiresIn: 600)]).status == 200)
            let health = try await client.get("/actuator/health")
            #expect(health.status == 200)
            #expect(health.string("status") == "UP")
        }
    }

    @Test("a minted service token carries the scopes it was made for, and only those")
    func aMintedServiceTokenIsAcceptedByTheWallet() async throws {
        try await Self.withService("wallet") { client in
            var configuration = ServicesConfiguration()
            configuration.jwtSecret = Self.jwtSecret
            let credential = try ServiceCredential(configuration: configuration, subject: "waqiti-payment", scopes: [.walletHold])
            var request = URLRequest(url: URL(string: client.base + "/metrics")!)
            credential.authorize(&request)
            let header = try #require(request.value(forHTTPHeaderField: "Authorization"))
            #expect(header.hasPrefix("Bearer "))
            // Past the scope check: the hold is refused for its body, not its credential.
            let hold = try await client.send("POST", "/api/v1/holds", json: Data("{}".utf8), headers: ["Authorization": header])
            #expect(hold.status == 400)
            let metrics = try await client.send("GET", "/metrics", headers: ["Authorization": header])
            #expect(metrics.status == 403)
            #expect(String(decoding: metrics.body, as: UTF8.self) == Self.forbidden("waqiti-payment", "metrics:read"))
        }
    }

    /// Each service's endpoints, the scope each needs, and a request that passes the scope check
    /// (its status then is the route's own answer to it: 200, or 400/404 for a body or id the
    /// route refuses after the check).
    static let endpoints: [(service: String, method: String, path: String, body: String?, needs: APIScope, allowed: Int)] = [
        ("payment", "POST", "/api/v1/payments", "{}", .paymentsWrite, 400),
        ("payment", "GET", "/api/v1/payments/p-none", nil, .paymentsRead, 404),
        ("payment", "POST", "/api/v1/payments/statuses", #"{"payment_ids":["p-none"]}"#, .paymentsRead, 200),
        ("payment", "GET", "/api/v1/reviews", nil, .reviewsRead, 200),
        ("payment", "POST", "/api/v1/payments/p-none/review", #"{"decision":"approve"}"#, .reviewsResolve, 404),
        ("payment", "GET", "/metrics", nil, .metricsRead, 200),
        ("wallet", "GET", "/api/v1/wallets/w-none", nil, .walletRead, 404),
        ("wallet", "POST", "/api/v1/wallets/w-1/topups", #"{"amount_minor":100,"currency":"USD","reference":"r-1"}"#, .walletTopUp, 201),
        ("wallet", "POST", "/api/v1/holds", "{}", .walletHold, 400),
        ("wallet", "GET", "/metrics", nil, .metricsRead, 200),
        ("reconciliation", "GET", "/api/v1/reconciliation/report", nil, .reconciliationRead, 200),
        ("reconciliation", "GET", "/metrics", nil, .metricsRead, 200),
    ]

    @Test("every endpoint answers its own scope and 403 naming the scope to every other", arguments: ["payment", "wallet", "reconciliation"])
    func scopes(service: String) async throws {
        try await Self.withService(service) { client in
            for endpoint in Self.endpoints where endpoint.service == service {
                for scope in APIScope.allCases {
                    let reply = try await client.send(endpoint.method, endpoint.path, json: endpoint.body.map { Data($0.utf8) },
                                                      headers: ["X-API-Key": "services-\(scope.rawValue)-0123456789"])
                    if scope == endpoint.needs {
                        #expect(reply.status == endpoint.allowed, "\(scope.rawValue) on \(endpoint.method) \(endpoint.path)")
                    } else {
                        #expect(reply.status == 403, "\(scope.rawValue) on \(endpoint.method) \(endpoint.path)")
                        #expect(String(decoding: reply.body, as: UTF8.self) == Self.forbidden(Self.subject(only: scope), endpoint.needs.rawValue))
                    }
                }
            }
            // A token without a scope claim (scope score) reaches no service endpoint.
            let token = HS256Verifier(secret: Self.jwtSecret).sign(payloadJSON: #"{"sub":"old-client","exp":\#(WallClockSeconds.now() + 600)}"#)
            let reply = try await client.send("GET", "/metrics", headers: ["Authorization": "Bearer " + token])
            #expect(String(decoding: reply.body, as: UTF8.self) == Self.forbidden("old-client", "metrics:read"))
        }
    }


    @Test("a review is resolved by the caller's subject; a body naming another reviewer is refused")
    func reviewerIsTheCaller() async throws {
        try await Platform.with { platform in
            try await platform.ledger.topUp(walletID: "acc-rv", amount: Money(minorUnits: 10_000, currency: .usd), reference: "t")
            let created = try await platform.payments.post("/api/v1/payments", Platform.request(account: "acc-rv", amount: 4_000),
                                                           headers: ["Idempotency-Key": "rv-1"])
            let id = try #require(created.string("payment_id"))
            try await platform.deliver(try await platform.decide { _ in .review })

            let impersonation = try await platform.payments.post("/api/v1/payments/\(id)/review", ["decision": "approve", "reviewer": "bob"])
            #expect(impersonation.status == 403)
            #expect(impersonation.string("error") == "reviewer_not_caller")
            #expect(impersonation.string("message") == "field 'reviewer' is 'bob' but this credential is 'ana'; a review is recorded as resolved by the credential that sends it, so omit reviewer or send your own")
            #expect(try await platform.payments.get("/api/v1/payments/\(id)").string("status") == "in_review")

            let resolved = try await platform.payments.post("/api/v1/payments/\(id)/review", ["decision": "approve", "note": "called"])
            #expect(resolved.status == 200)
            #expect(resolved.json["review"] as? [String: String] == ["reviewer": "ana", "note": "called"])
            try await platform.relay.drain()
            let outcome = try #require(await platform.published.consumed("payment-reviews").first)
            #expect(String(decoding: outcome.value, as: UTF8.self).contains(#""reviewer":"ana""#))
        }
    }
}

@Suite("WAQITI_API_KEYS in the services and the credentials they call each other with")
struct ServiceKeyConfigurationTests {
    @Test func scopedAndBareKeysParse() throws {
        let configuration = try ServicesConfiguration.load(file: nil, environment: [
            "WAQITI_API_KEYS": "payment:wallet:hold+score:update:payment-key-0123456789, bare-key-0123456789",
        ])
        #expect(configuration.apiKeys == [APIKey(name: "payment", scopes: [.walletHold, .scoreUpdate], key: "payment-key-0123456789"),
                                          APIKey(legacy: "bare-key-0123456789")])
        #expect(configuration.redactedDescription.contains("http.api_keys = payment [score:update wallet:hold], key-"))
        #expect(!configuration.redactedDescription.contains("0123456789"))
    }

    @Test("a bad entry names the entry, not its key, and the fix")
    func badEntry() {
        #expect(throws: ConfigurationError(key: "http.api_keys", message: "entry 1 ('payment') has the unknown scope 'wallet:hodl'; the scopes are score, score:update, rules:read, metrics:read, payments:write, payments:read, reviews:read, reviews:resolve, wallet:read, wallet:topup, wallet:hold, reconciliation:read, joined with '+' (from WAQITI_API_KEYS)")) {
            try ServicesConfiguration.load(file: nil, environment: ["WAQITI_API_KEYS": "payment:wallet:hodl:payment-key-0123456789"])
        }
    }

    @Test("the payment service's credential is the first key covering its calls; none and no JWT secret is a start-up error")
    func credentialChoice() throws {
        var configuration = ServicesConfiguration()
        configuration.apiKeys = [APIKey(legacy: "bare-key-0123456789"), APIKey(name: "wallet-only", scopes: [.walletHold], key: "hold-key-0123456789"),
                                 APIKey(name: "payment", scopes: [.walletHold, .scoreUpdate], key: "payment-key-0123456789")]
        func sent(_ credential: ServiceCredential) -> String? {
            var request = URLRequest(url: URL(string: "http://127.0.0.1")!)
            credential.authorize(&request)
            return request.value(forHTTPHeaderField: "X-API-Key")
        }
        #expect(sent(try ServiceCredential(configuration: configuration, subject: "waqiti-payment", scopes: [.walletHold])) == "hold-key-0123456789")
        #expect(sent(try ServiceCredential(configuration: configuration, subject: "waqiti-payment", scopes: [.walletHold, .scoreUpdate])) == "payment-key-0123456789")
        configuration.apiKeys.removeLast()
        #expect(throws: ConfigurationError(key: "http.api_keys", message: "waqiti-payment calls other services with the scopes wallet:hold+score:update, and no entry of WAQITI_API_KEYS has them all; add one such as waqiti-payment:wallet:hold+score:update:<key> (the services it calls need it too), or set WAQITI_JWT_SECRET so it signs its own tokens")) {
            try ServiceCredential(configuration: configuration, subject: "waqiti-payment", scopes: [.walletHold, .scoreUpdate])
        }
    }
}
