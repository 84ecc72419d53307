import Foundation
import Logging
import PostgresNIO
import Testing
@testable import Services
import LocalStackSupport

/// The local stack's PostgreSQL and broker (gated by `LocalStack`: a missing address is a failure,
/// never a default that may be someone else's server).
enum Integration {
    static var postgresURL: PostgresURL {
        get throws { try PostgresURL(parsing: LocalStack.required("WAQITI_POSTGRES_URL")) }
    }

    static var brokers: String {
        get throws { try LocalStack.required("WAQITI_KAFKA_BROKERS") }
    }
}

/// A database of its own for one test, migrated, and dropped afterwards, so tests can run in
/// parallel and assert exact totals.
enum TestDatabase {
    static let logger = Logger(label: "services-tests")

    static func with<T: Sendable>(_ body: @Sendable (Database) async throws -> T) async throws -> T {
        try await withURL { database, _ in try await body(database) }
    }

    /// `with`, also giving the database's URL, for a service under test that opens its own pool.
    static func withURL<T: Sendable>(_ body: @Sendable (Database, PostgresURL) async throws -> T) async throws -> T {
        let server = try Integration.postgresURL
        let name = "waqiti_test_\(UInt64.random(in: 0...UInt64.max))"
        try await withAdmin(server) { try await ScratchDatabase.create(name, using: $0, logger: logger) }
        var url = server
        url.database = name
        let database = Database(url: url, maximumConnections: 60, logger: logger)
        let result: Result<T, any Error>
        do {
            result = try await database.client.whileRunning {
                do {
                    try await Migrator(database: database, migrations: try Migration.bundled()).migrate()
                    return .success(try await body(database, url))
                } catch {
                    return .failure(error)
                }
            }
        }
        try await withAdmin(server) { try await ScratchDatabase.drop(name, using: $0, logger: logger) }
        return try result.get()
    }

    private static func withAdmin(_ url: PostgresURL, _ body: @Sendable (PostgresClient) async throws -> Void) async throws {
        let admin = Database(url: url, maximumConnections: 1, logger: logger)
        try await admin.client.whileRunning { try await body(admin.client) }
    }

    /// Runs one scalar query, for assertions.
    static func scalar<T: PostgresDecodable & Sendable>(_ query: PostgresQuery, as type: T.Type, in database: Database) async throws -> T? {
        try await ScratchDatabase.explained(query.sql) {
            for try await value in try await database.client.query(query, logger: logger).decode(T.self) { return value }
            return nil
        }
    }
}
