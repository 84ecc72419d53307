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

    /// Scratch databases alive at once. The local stack's PostgreSQL takes 100 connections, and
    /// Swift Testing starts every test of the suite together: with each test's pool, its services'
    /// pools and the admin connections, a run went past 100 (53300 "too many clients") and a
    /// service that could not migrate failed its test at random.
    static let slots = Slots(6)

    actor Slots {
        private var free: Int
        private var waiting: [CheckedContinuation<Void, Never>] = []

        init(_ count: Int) { free = count }

        func acquire() async {
            if free > 0 {
                free -= 1
                return
            }
            await withCheckedContinuation { waiting.append($0) }
        }

        func release() {
            if waiting.isEmpty { free += 1 } else { waiting.removeFirst().resume() }
        }
    }

    static func with<T: Sendable>(_ body: @Sendable (Database) async throws -> T) async throws -> T {
        try await withURL { database, _ in try await body(database) }
    }

    /// `with`, also giving the database's URL, for a service under test that opens its own pool.
    static func withURL<T: Sendable>(_ body: @Sendable (Database, PostgresURL) async throws -> T) async throws -> T {
        await slots.acquire()
        do {
            let value = try await withScratchDatabase(body)
            await slots.release()
            return value
        } catch {
            await slots.release()
            throw error
        }
    }

    private static func withScratchDatabase<T: Sendable>(_ body: @Sendable (Database, PostgresURL) async throws -> T) async throws -> T {
        let server = try Integration.postgresURL
        let name = "waqiti_test_\(UInt64.random(in: 0...UInt64.max))"
        try await withAdmin(server) { try await ScratchDatabase.create(name, using: $0, logger: logger) }
        var url = server
        url.database = name
        // Enough for the fifty concurrent payments to queue briefly; 60 per test, six at a time,
        // could alone take more than the server's 100.
        let database = Database(url: url, maximumConnections: 24, logger: logger)
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
