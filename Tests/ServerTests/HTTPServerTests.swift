import Engine
import Features
import FraudCore
import Hummingbird
import HummingbirdTesting
import Logging
import Rules
@testable import Server
import Testing

private let apiKey = "test-key-0123456789abcdef"
private let jwtSecret = "0123456789abcdef0123456789abcdef"

private func eventJSON(_ id: String, amountMinor: String = "5000") -> String {
    """
    {"payment_id":"\(id)","occurred_at":"2026-11-29T08:00:00.000Z","account_id":"acct-1","card_fingerprint":"card-1","device_id":"dev-1","ip":"203.0.113.7","merchant_id":"m-1","mcc":"5411","amount_minor":\(amountMinor),"currency":"USD","card_country":"US","ip_country":"US","channel":"ecom","type":"payment"}
    """
}

/// The real server, engine, rules and in-memory store, listening on a free loopback port; each
/// request is real HTTP over a socket (HummingbirdTesting's live mode).
private func withServer<Value: Sendable>(rateLimit: Int = 1000, _ body: @Sendable (any TestClientProtocol) async throws -> Value) async throws -> Value {
    _ = PrometheusExport.registry
    var configuration = EngineConfiguration()
    configuration.http.port = 0
    configuration.http.apiKeys = [apiKey]
    configuration.http.jwtSecret = jwtSecret
    configuration.http.maxRequestBytes = 2048
    configuration.http.rateLimitPerSecond = rateLimit
    let rules = try RuleSet.compile(RulesSource(path: "http.rules", text: """
    version "http-1"
    rule http_card_velocity: decline +50 if count(card_fingerprint, 10m) >= 3
    rule http_big: review +10 if amount > 1000.00 USD
    """) { _ in [] })
    let engine = DecisionEngine(
        rules: { rules }, model: { nil },
        features: FeatureRouter(local: InMemoryFeatureStore(), shared: nil, storeOf: { _ in .memory }, probeInterval: .seconds(1), logger: Logger(label: "test")),
        cache: InMemoryDecisionCache(capacity: 1000), degradedPolicy: .decide
    )
    let health = [HealthIndicator(name: "rules") { ComponentHealth(name: "rules", status: .up, detail: "version \(rules.version)") }]
    let app = FraudHTTPServer.makeApplication(engine: engine, configuration: configuration, health: health, logger: Logger(label: "test"))
    return try await app.test(.live) { client in try await body(client) }
}

private let keyHeader: HTTPFields = [.init("X-API-Key")!: apiKey]

@Suite("HTTP server over loopback")
struct HTTPServerTests {
    @Test("no credentials, a wrong key or a bad token: 401 with a JSON reason; health stays open")
    func authentication() async throws {
        try await withServer { client in
            try await client.execute(uri: "/v1/score", method: .post, body: ByteBuffer(string: eventJSON("p1"))) { response in
                #expect(response.status == .unauthorized)
                #expect(String(buffer: response.body) == #"{"error":{"code":"unauthorized","message":"missing credentials: send X-API-Key or Authorization: Bearer <HS256 JWT>","status":401}}"#)
            }
            try await client.execute(uri: "/v1/rules", method: .get, headers: [.init("X-API-Key")!: "not-the-key-0123456789"]) { response in
                #expect(response.status == .unauthorized)
            }
            let expired = HS256Verifier(secret: jwtSecret).sign(payloadJSON: #"{"sub":"svc","exp":1000}"#)
            try await client.execute(uri: "/v1/rules", method: .get, headers: [.authorization: "Bearer \(expired)"]) { response in
                #expect(response.status == .unauthorized)
                #expect(String(buffer: response.body).contains("invalid bearer token: token expired"))
            }
            try await client.execute(uri: "/metrics", method: .get) { response in #expect(response.status == .unauthorized) }
            try await client.execute(uri: "/actuator/health", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body).hasPrefix(#"{"components":{"rules":{"detail":"version http-1+"#))
            }
        }
    }

    @Test("scores with an API key or a valid JWT; a repeated payment gets the identical decision")
    func scoring() async throws {
        try await withServer { client in
            let first = try await client.execute(uri: "/v1/score", method: .post, headers: keyHeader, body: ByteBuffer(string: eventJSON("p1"))) { response in
                #expect(response.status == .ok)
                return String(buffer: response.body)
            }
            #expect(first.contains(#""payment_id":"p1""#))
            #expect(first.contains(#""decision":"approve""#))
            let token = HS256Verifier(secret: jwtSecret).sign(payloadJSON: #"{"sub":"svc","exp":99999999999}"#)
            let again = try await client.execute(uri: "/v1/score", method: .post, headers: [.authorization: "Bearer \(token)"], body: ByteBuffer(string: eventJSON("p1"))) { response in
                String(buffer: response.body)
            }
            #expect(again == first)
            let batch = "[\(eventJSON("p2")),\(eventJSON("p3", amountMinor: "250000"))]"
            try await client.execute(uri: "/v1/score/batch", method: .post, headers: keyHeader, body: ByteBuffer(string: batch)) { response in
                #expect(response.status == .ok)
                let body = String(buffer: response.body)
                #expect(body.hasPrefix(#"[{"payment_id":"p2","decision":"approve""#))
                #expect(body.contains(#"{"payment_id":"p3","decision":"decline""#), "p3 is the card's third payment and large")
            }
            // A what-if run that matches both rules again counts in no hit or decision series.
            try await client.execute(uri: "/v1/score?dry_run=true", method: .post, headers: keyHeader,
                                     body: ByteBuffer(string: eventJSON("p4", amountMinor: "250000"))) { response in
                #expect(String(buffer: response.body).contains(#""decision":"decline""#))
            }
            try await client.execute(uri: "/v1/rules", method: .get, headers: keyHeader) { response in
                let body = String(buffer: response.body)
                #expect(body.contains(#"{"action":"decline","hits":1,"name":"http_card_velocity","points":50,"shadow":false,"threshold":false}"#), "\(body)")
                #expect(body.contains(#"{"action":"review","hits":1,"name":"http_big","points":10,"shadow":false,"threshold":false}"#))
            }
            try await client.execute(uri: "/metrics", method: .get, headers: keyHeader) { response in
                let body = String(buffer: response.body)
                #expect(body.contains(#"waqiti_rule_hits_total{rule="http_card_velocity"} 1"#))
                #expect(body.contains(#"waqiti_rule_hits_total{rule="http_big"} 1"#))
            }
        }
    }

    @Test("bad input: 400 naming the field, 413 over the size limit, dry_run validated")
    func badInput() async throws {
        try await withServer { client in
            try await client.execute(uri: "/v1/score", method: .post, headers: keyHeader, body: ByteBuffer(string: eventJSON("p1", amountMinor: "\"ten\""))) { response in
                #expect(response.status == .badRequest)
                let body = String(buffer: response.body)
                #expect(body.contains(#""field":"amount_minor""#))
                #expect(body.contains(#""code":"invalid_event""#))
            }
            try await client.execute(uri: "/v1/score", method: .post, headers: keyHeader, body: ByteBuffer(string: String(repeating: " ", count: 4096))) { response in
                #expect(response.status == .contentTooLarge)
                #expect(String(buffer: response.body).contains("request body exceeds the limit of 2048 bytes"))
            }
            try await client.execute(uri: "/v1/score?dry_run=maybe", method: .post, headers: keyHeader, body: ByteBuffer(string: eventJSON("p1"))) { response in
                #expect(response.status == .badRequest)
                #expect(String(buffer: response.body).contains(#""field":"dry_run""#))
            }
            try await client.execute(uri: "/v1/score/batch", method: .post, headers: keyHeader, body: ByteBuffer(string: "[\(eventJSON("p5")),{\"payment_id\":\"p6\"}]")) { response in
                #expect(response.status == .badRequest)
                #expect(String(buffer: response.body).contains("event 2:"))
            }
        }
    }

    @Test("an event dated beyond features.max_clock_skew ahead of the clock: 400 naming occurred_at, alone or in a batch; a dry run of it is scored")
    func futureEvent() async throws {
        let future = eventJSON("p-future").replacing("2026-11-29T08:00:00.000Z", with: "2099-01-01T00:00:00.000Z")
        try await withServer { client in
            try await client.execute(uri: "/v1/score", method: .post, headers: keyHeader, body: ByteBuffer(string: future)) { response in
                #expect(response.status == .badRequest)
                let body = String(buffer: response.body)
                #expect(body.contains(#""field":"occurred_at""#), "\(body)")
                #expect(body.contains(#"payment \"p-future\": field \"occurred_at\": 2099-01-01T00:00:00.000Z is "#), "\(body)")
                #expect(body.contains("at most 1m is accepted (features.max_clock_skew)"), "\(body)")
            }
            try await client.execute(uri: "/v1/score/batch", method: .post, headers: keyHeader, body: ByteBuffer(string: "[\(eventJSON("p-now")),\(future)]")) { response in
                #expect(response.status == .badRequest)
                #expect(String(buffer: response.body).contains(#""message":"event 2: payment \"p-future\""#))
            }
            try await client.execute(uri: "/v1/score?dry_run=true", method: .post, headers: keyHeader, body: ByteBuffer(string: future)) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body).contains(#""payment_id":"p-future""#))
            }
        }
    }

    @Test("over the rate limit: 429 with Retry-After")
    func rateLimit() async throws {
        // One request a second: the second request is refused unless a whole second passes
        // between the two. On a loaded machine it sometimes did (CI saw [200, 200]), and then the
        // bucket has rightly refilled; such an attempt proves nothing either way, so it is made
        // again on a fresh server, and the statuses are checked on an attempt that took < 1 s.
        for _ in 0..<5 {
            let (statuses, took) = try await withServer(rateLimit: 1) { client in
                let clock = ContinuousClock()
                let started = clock.now
                var statuses: [Int] = []
                for _ in 0..<2 {
                    try await client.execute(uri: "/v1/rules", method: .get, headers: keyHeader) { response in
                        statuses.append(response.status.code)
                        if response.status == .tooManyRequests { #expect(response.headers[.retryAfter] == "1") }
                    }
                }
                return (statuses, clock.now - started)
            }
            guard took >= .seconds(1) else {
                #expect(statuses == [200, 429])
                return
            }
        }
        Issue.record("five attempts each took a second or more: the machine is too loaded to tell a refused request from a refilled bucket")
    }
}
