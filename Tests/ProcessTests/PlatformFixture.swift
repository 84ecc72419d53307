import Foundation
import Kafka
import Logging
import PostgresNIO
import Testing
import LocalStackSupport

/// A PostgreSQL database of one test's own on the local stack (from `WAQITI_POSTGRES_URL`),
/// dropped at the end, with a pool for the test's assertions.
struct PlatformDatabase: Sendable {
    let url: String
    let client: PostgresClient
    static let logger = Logger(label: "process-tests-postgres")

    /// Creates a fresh database, runs `body` with it, and drops it (the services have exited by then).
    static func with<T: Sendable>(_ body: @Sendable (PlatformDatabase) async throws -> T) async throws -> T {
        let server = try LocalStack.required("WAQITI_POSTGRES_URL")
        guard var components = URLComponents(string: server), let host = components.host, let user = components.user else {
            throw ProcessTestError.missingVariable("WAQITI_POSTGRES_URL (not postgres://user:password@host:port/database)")
        }
        let name = "waqiti_ptest_\(UInt64.random(in: 0...UInt64.max))"
        func client(_ database: String) -> PostgresClient {
            var configuration = PostgresClient.Configuration(
                host: host, port: components.port ?? 5432, username: user, password: components.password,
                database: database, tls: .disable)
            configuration.options.maximumConnections = 4
            return PostgresClient(configuration: configuration, backgroundLogger: logger)
        }
        let admin = client(String(components.path.dropFirst()))
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await admin.run() }
            defer { group.cancelAll() }
            try await ScratchDatabase.create(name, using: admin, logger: logger)
            components.path = "/" + name
            let database = PlatformDatabase(url: components.string!, client: client(name))
            group.addTask { await database.client.run() }
            let result: Result<T, any Error>
            do { result = .success(try await body(database)) } catch { result = .failure(error) }
            try await ScratchDatabase.drop(name, using: admin, logger: logger)
            return try result.get()
        }
    }

    /// One BIGINT from `query`, for assertions.
    func count(_ query: PostgresQuery) async throws -> Int64 {
        try await ScratchDatabase.explained(query.sql) {
            for try await value in try await client.query(query, logger: Self.logger).decode(Int64.self) { return value }
            return -1
        }
    }

    func strings(_ query: PostgresQuery) async throws -> [String] {
        try await ScratchDatabase.explained(query.sql) {
            var values: [String] = []
            for try await value in try await client.query(query, logger: Self.logger).decode(String.self) { values.append(value) }
            return values
        }
    }
}

/// The three platform services as processes (`waqiti payment|wallet|reconcile`) on one test's
/// database, topics and consumer groups, next to an engine started by `ServeFixture`.
struct PlatformServicesFixture: Sendable {
    let environment: [String: String]
    let paymentPort: Int
    let walletPort: Int
    let reconciliationPort: Int
    let apiKey: String

    init(engine: ServeFixture, database: PlatformDatabase, reviewsTopic: String, extra: [String: String] = [:]) throws {
        apiKey = engine.apiKey
        paymentPort = try ProcessEnvironment.freePort()
        walletPort = try ProcessEnvironment.freePort()
        reconciliationPort = try ProcessEnvironment.freePort()
        var variables = engine.topics.environment
        variables["WAQITI_KAFKA_REVIEWS_TOPIC"] = reviewsTopic
        variables["WAQITI_KAFKA_GROUP_ID_PREFIX"] = engine.topics.group
        variables["WAQITI_POSTGRES_URL"] = database.url
        variables["WAQITI_API_KEYS"] = ServeFixture.keyList(engine.apiKey)
        variables["WAQITI_PAYMENT_WALLET_URL"] = "http://127.0.0.1:\(walletPort)"
        variables["WAQITI_PAYMENT_ENGINE_URL"] = "http://127.0.0.1:\(engine.port)"
        variables.merge(extra) { _, new in new }
        environment = variables
    }

    /// Starts `waqiti SERVICE --port PORT` and waits for its health endpoint.
    func start(_ service: String, extra: [String: String] = [:], name: String? = nil) async throws -> WaqitiProcess {
        let port = switch service {
        case "payment": paymentPort
        case "wallet": walletPort
        default: reconciliationPort
        }
        let process = try WaqitiProcess([service, "--port", String(port)], environment: environment.merging(extra) { _, new in new },
                                        name: name ?? service)
        try await process.waitForHTTP(url(port, "/actuator/health"))
        return process
    }

    func url(_ port: Int, _ path: String) -> URL { URL(string: "http://127.0.0.1:\(port)\(path)")! }

    func request(_ method: String, _ port: Int, _ path: String, body: Data? = nil) async throws -> HTTP.Response {
        try await HTTP.request(method, url(port, path), headers: ["X-API-Key": apiKey, "Content-Type": "application/json"], body: body, timeout: 30)
    }

    /// The value of an unlabelled counter on a service's /metrics.
    func counter(_ port: Int, _ name: String) async throws -> Double? {
        let text = try await request("GET", port, "/metrics").text
        return text.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Double($0.split(separator: " ").last ?? "") }
    }
}
