import Foundation
import Logging
import PostgresNIO
import Testing
import LocalStackSupport

/// Against the PostgreSQL that scripts/test starts (WAQITI_POSTGRES_URL, role and database
/// `waqiti`, password generated into .state/ at first start).
@Suite("PostgreSQL round trip", .enabled(if: LocalStack.isEnabled, LocalStack.skipMessage))
struct PostgresIntegrationTests {
    let configuration: PostgresClient.Configuration
    let logger = Logger(label: "waqiti.tests.postgres")

    init() throws {
        let text = try LocalStack.required("WAQITI_POSTGRES_URL")
        let url = try #require(URLComponents(string: text), "WAQITI_POSTGRES_URL is not a URL")
        configuration = PostgresClient.Configuration(
            host: try #require(url.host), port: url.port ?? 5432, username: try #require(url.user),
            password: url.password, database: String(url.path.dropFirst()), tls: .disable)
    }

    /// Runs `body` with one connection of a client whose background `run()` lives only as long.
    func withConnection<Result: Sendable>(
        _ configuration: PostgresClient.Configuration, _ body: @Sendable (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        return try await withThrowingTaskGroup(of: Result?.self) { group in
            group.addTask {
                await client.run()
                return nil
            }
            defer { group.cancelAll() }
            return try await client.withConnection(body)
        }
    }

    @Test("Rows written to a temporary table read back with exact values, including NULL and extreme minor units")
    func roundTrip() async throws {
        let logger = logger
        let rows: [(Int64, String, Int64, String, String?)] = [
            (1, "pay-0001", 1_234, "USD", nil),
            (2, "pay-0002 — ünïcødé", Int64.max, "JPY", "largest amount"),
            (3, "pay-0003", -1_205, "KWD", "refund"),
        ]
        let readBack = try await withConnection(configuration) { connection in
            try await connection.query("""
                CREATE TEMPORARY TABLE ledger_probe (
                    id BIGINT PRIMARY KEY, payment_id TEXT NOT NULL, amount_minor BIGINT NOT NULL,
                    currency CHAR(3) NOT NULL, note TEXT)
                """, logger: logger)
            for (id, paymentID, amount, currency, note) in rows {
                try await connection.query(
                    "INSERT INTO ledger_probe VALUES (\(id), \(paymentID), \(amount), \(currency), \(note))", logger: logger)
            }
            var result: [(Int64, String, Int64, String, String?)] = []
            let stream = try await connection.query(
                "SELECT id, payment_id, amount_minor, currency, note FROM ledger_probe ORDER BY id", logger: logger)
            for try await row in stream.decode((Int64, String, Int64, String, String?).self) { result.append(row) }
            return result.map { ReadRow(id: $0.0, paymentID: $0.1, amountMinor: $0.2, currency: $0.3, note: $0.4) }
        }
        #expect(readBack == rows.map { ReadRow(id: $0.0, paymentID: $0.1, amountMinor: $0.2, currency: $0.3, note: $0.4) })
    }

    @Test("We are connected as role waqiti to database waqiti")
    func identity() async throws {
        let logger = logger
        let identity = try await withConnection(configuration) { connection in
            let stream = try await connection.query("SELECT current_user, current_database()", logger: logger)
            var values: [String] = []
            for try await (user, database) in stream.decode((String, String).self) { values = [user, database] }
            return values
        }
        #expect(identity == ["waqiti", "waqiti"])
    }

    @Test("A wrong password is refused by the server with SQLSTATE 28P01 (invalid_password)")
    func wrongPassword() async throws {
        // A single connection rather than the pool: the pool retries refused logins until its
        // circuit breaker trips, which hides the server's answer.
        let wrong = PostgresConnection.Configuration(
            host: configuration.host!, port: configuration.port!, username: configuration.username,
            password: "not-the-password", database: configuration.database, tls: .disable)
        await #expect {
            let connection = try await PostgresConnection.connect(configuration: wrong, id: 1, logger: logger)
            try await connection.close()
        } throws: { error in
            (error as? PSQLError)?.serverInfo?[.sqlState] == "28P01"
        }
    }
}

/// One row of the probe table, comparable as a whole.
struct ReadRow: Equatable, Sendable {
    let id: Int64
    let paymentID: String
    let amountMinor: Int64
    let currency: String
    let note: String?
}
