import Engine
import Features
import FraudCore
import Hummingbird
import HummingbirdTesting
import Logging
import Rules
@testable import Server
import Testing

let apiKey = "test-key-0123456789abcdef"
/// One key a scope, each named for its scope, to show what each grants and refuses.
private let scopedKeys = APIScope.allCases.map { APIKey(name: "only-" + $0.rawValue.replacingOccurrences(of: ":", with: "-"), scopes: [$0], key: "key-for-\($0.rawValue)-0123456789") }
private let bareKey = "bare-key-0123456789abcdef"
let jwtSecret = "0123456789abcdef0123456789abcdef"

func eventJSON(_ id: String, amountMinor: String = "5000") -> String {
    """
    {"payment_id":"\(id)","occurred_at":"2026-11-29T08:00:00.000Z","account_id":"acct-1","card_fingerprint":"card-1","device_id":"dev-1","ip":"203.0.113.7","merchant_id":"m-1","mcc":"5411","amount_minor":\(amountMinor),"currency":"USD","card_country":"US","ip_country":"US","channel":"ecom","type":"payment"}
    """
}

/// The real server, engine, rules and in-memory store, listening on a free loopback port; each
/// request is real HTTP over a socket (HummingbirdTesting's live mode).
func withServer<Value: Sendable>(rateLimit: Int = 1000, _ body: @Sendable (any TestClientProtocol) async throws -> Value) async throws -> Value {
    _ = PrometheusExport.registry
    var configuration = EngineConfiguration()
    configuration.http.port = 0
    configuration.http.apiKeys = [APIKey(name: "ops", scopes: [.scoreUpdate, .rulesRead, .metricsRead], key: apiKey), APIKey(legacy: bareKey)] + scopedKeys
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

let keyHeader: HTTPFields = [.init("X-API-Key")!: apiKey]

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
            let token = HS256Verifier(secret: jwtSecret).sign(payloadJSON: #"{"sub":"svc","scope":"score:update","exp":99999999999}"#)
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

    @Test("a payment_id sent again with another event: 409 payment_id_reused, alone, in a batch and in a dry run; the same event again gets its decision")
    func reusedPaymentID() async throws {
        let reusedMessage = #"payment_id \"p-r1\" was already decided for another event (event_time 2026-11-29T08:00:00.000Z); a payment_id names one payment: send this payment under a new payment_id"#
        try await withServer { client in
            let first = try await client.execute(uri: "/v1/score", method: .post, headers: keyHeader, body: ByteBuffer(string: eventJSON("p-r1"))) { response in
                #expect(response.status == .ok)
                return String(buffer: response.body)
            }
            // Same time, another amount: only the event's content tells it from a retry.
            for uri in ["/v1/score", "/v1/score?dry_run=true"] {
                try await client.execute(uri: uri, method: .post, headers: keyHeader, body: ByteBuffer(string: eventJSON("p-r1", amountMinor: "6000"))) { response in
                    #expect(response.status == .conflict, "\(uri)")
                    #expect(String(buffer: response.body) == #"{"error":{"code":"payment_id_reused","field":"payment_id","message":"\#(reusedMessage)","status":409}}"#, "\(uri)")
                }
            }
            try await client.execute(uri: "/v1/score", method: .post, headers: keyHeader, body: ByteBuffer(string: eventJSON("p-r1"))) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body) == first, "a retry of the same event")
            }
            let batch = "[\(eventJSON("p-r2")),\(eventJSON("p-r1", amountMinor: "6000")),\(eventJSON("p-r1", amountMinor: "7000"))]"
            try await client.execute(uri: "/v1/score/batch", method: .post, headers: keyHeader, body: ByteBuffer(string: batch)) { response in
                #expect(response.status == .conflict)
                #expect(String(buffer: response.body).contains(#""message":"event 2: \#(reusedMessage) (1 more event(s) of this batch likewise); the other events were decided: send them again without it to read their decisions""#))
            }
            // p-r2 was decided with the refused batch; sent again it gets its decision, and the
            // refused events are in no window.
            let p2 = try await client.execute(uri: "/v1/score/batch", method: .post, headers: keyHeader, body: ByteBuffer(string: "[\(eventJSON("p-r2"))]")) { response in
                #expect(response.status == .ok)
                return String(buffer: response.body)
            }
            #expect(p2.hasPrefix(#"[{"payment_id":"p-r2","decision":"approve","model_score":0.0,"risk_points":0,"#), "the card's second payment: p-r1 counted once, its retry and the refused events not at all: \(p2)")
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

private func key(_ scope: APIScope) -> HTTPFields { [.init("X-API-Key")!: "key-for-\(scope.rawValue)-0123456789"] }
private func bearer(_ claims: String) -> HTTPFields {
    [.authorization: "Bearer " + HS256Verifier(secret: jwtSecret).sign(payloadJSON: claims)]
}
private func forbidden(_ subject: String, _ scope: String) -> String {
    #"{"error":{"code":"missing_scope","message":"credential '\#(subject)' lacks the scope '\#(scope)' this request needs; ask for a key or token that grants it (docs/api.md, Authentication)","scope":"\#(scope)","status":403}}"#
}

@Suite("Scopes on the engine's endpoints, over loopback")
struct EngineScopeTests {
    @Test("dry runs need score, update mode score:update, /v1/rules rules:read, /metrics metrics:read")
    func eachEndpointItsScope() async throws {
        try await withServer { client in
            // What each one-scope key gets from each endpoint: 200 or 403 naming the scope missing.
            let endpoints: [(uri: String, method: HTTPRequest.Method, body: String?, needs: APIScope)] = [
                ("/v1/score?dry_run=true", .post, eventJSON("s1"), .score),
                ("/v1/score/batch?dry_run=true", .post, "[\(eventJSON("s2"))]", .score),
                ("/v1/score", .post, eventJSON("s3"), .scoreUpdate),
                ("/v1/score/batch", .post, "[\(eventJSON("s4"))]", .scoreUpdate),
                ("/v1/rules", .get, nil, .rulesRead),
                ("/metrics", .get, nil, .metricsRead),
            ]
            for endpoint in endpoints {
                for scope in APIScope.allCases {
                    let allowed = scope.grants(endpoint.needs)
                    try await client.execute(uri: endpoint.uri, method: endpoint.method, headers: key(scope), body: endpoint.body.map { ByteBuffer(string: $0) }) { response in
                        #expect(response.status == (allowed ? .ok : .forbidden), "\(scope.rawValue) on \(endpoint.uri)")
                        if !allowed {
                            let subject = "only-" + scope.rawValue.replacingOccurrences(of: ":", with: "-")
                            #expect(String(buffer: response.body) == forbidden(subject, endpoint.needs.rawValue))
                        }
                    }
                }
            }
        }
    }

    @Test("a bare key and a token without a scope claim may only dry-run; a token's scope claim is its scopes")
    func legacyCredentials() async throws {
        try await withServer { client in
            let bare: HTTPFields = [.init("X-API-Key")!: bareKey]
            let noScope = bearer(#"{"sub":"old-client","exp":99999999999}"#)
            for (headers, subject) in [(bare, APIKey(legacy: bareKey).name), (noScope, "old-client")] {
                try await client.execute(uri: "/v1/score?dry_run=true", method: .post, headers: headers, body: ByteBuffer(string: eventJSON("l1"))) { response in
                    #expect(response.status == .ok)
                }
                try await client.execute(uri: "/v1/score", method: .post, headers: headers, body: ByteBuffer(string: eventJSON("l1"))) { response in
                    #expect(String(buffer: response.body) == forbidden(subject, "score:update"))
                }
                try await client.execute(uri: "/v1/rules", method: .get, headers: headers) { response in
                    #expect(String(buffer: response.body) == forbidden(subject, "rules:read"))
                }
            }
            // Scopes this platform does not know (another system's) grant nothing and do not fail the token.
            let reader = bearer(#"{"sub":"dashboard","scope":"openid rules:read","exp":99999999999}"#)
            try await client.execute(uri: "/v1/rules", method: .get, headers: reader) { response in #expect(response.status == .ok) }
            try await client.execute(uri: "/v1/score?dry_run=true", method: .post, headers: reader, body: ByteBuffer(string: eventJSON("l2"))) { response in
                #expect(String(buffer: response.body) == forbidden("dashboard", "score"))
            }
            try await client.execute(uri: "/v1/rules", method: .get, headers: bearer(#"{"scope":"rules:read","exp":99999999999}"#)) { response in
                #expect(response.status == .unauthorized)
                #expect(String(buffer: response.body) == #"{"error":{"code":"unauthorized","message":"invalid bearer token: no sub claim; tokens must name their subject","status":401}}"#)
            }
        }
    }

    @Test("a caller without score:update cannot plant a decision that a later real event would get")
    func noPlantedDecision() async throws {
        try await withServer { client in
            // A large amount: declined or reviewed if it were entered; the real event is small.
            try await client.execute(uri: "/v1/score", method: .post, headers: key(.score), body: ByteBuffer(string: eventJSON("victim-1", amountMinor: "250000"))) { response in
                #expect(response.status == .forbidden)
            }
            try await client.execute(uri: "/v1/score", method: .post, headers: keyHeader, body: ByteBuffer(string: eventJSON("victim-1"))) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body).contains(#""decision":"approve""#))
            }
        }
    }
}
