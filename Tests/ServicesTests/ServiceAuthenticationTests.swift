import Foundation
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
                configuration.apiKeys = [apiKey]
                configuration.jwtSecret = jwtSecret
                configure(&configuration)
                return configuration
            }()
            let logger = TestDatabase.logger
            let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
            let running: @Sendable (Int) async -> Void = { continuation.yield($0) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    // A service that stops before it listens (PostgreSQL refused its connections)
                    // ends the stream, so the test fails with its error instead of waiting for good.
                    defer { continuation.finish() }
                    switch name {
                    case "payment": try await PlatformServices.runPayment(configuration: configuration, messaging: IdleMessaging(), logger: logger, onServerRunning: running)
                    case "wallet": try await PlatformServices.runWallet(configuration: configuration, messaging: IdleMessaging(), logger: logger, onServerRunning: running)
                    default: try await PlatformServices.runReconciliation(configuration: configuration, messaging: IdleMessaging(), logger: logger, onServerRunning: running)
                    }
                }
                defer { group.cancelAll() }
                var iterator = ports.makeAsyncIterator()
                guard let port = await iterator.next() else {
                    try await group.next()
                    throw CancellationError()
                }
                try await body(JSONClient(base: "http://127.0.0.1:\(port)"))
            }
        }
    }

    static func token(expiresIn seconds: Int64) -> String {
        HS256Verifier(secret: jwtSecret).sign(payloadJSON: #"{"sub":"analyst-1","exp":\#(WallClockSeconds.now() + seconds)}"#)
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

    @Test func aMintedServiceTokenIsAcceptedByTheWallet() async throws {
        try await Self.withService("wallet") { client in
            var configuration = ServicesConfiguration()
            configuration.jwtSecret = Self.jwtSecret
            let credential = ServiceCredential(configuration: configuration, subject: "waqiti-payment")
            var request = URLRequest(url: URL(string: client.base + "/metrics")!)
            credential.authorize(&request)
            let header = try #require(request.value(forHTTPHeaderField: "Authorization"))
            #expect(header.hasPrefix("Bearer "))
            #expect(try await client.send("GET", "/metrics", headers: ["Authorization": header]).status == 200)
        }
    }
}
