import Logging
import PostgresNIO

/// Creating and dropping one test's own PostgreSQL database on the local stack, with errors a CI
/// log alone can diagnose.
public enum ScratchDatabase {
    /// `CREATE DATABASE name` through `admin` (a client on the server's maintenance database).
    public static func create(_ name: String, using admin: PostgresClient, logger: Logger) async throws {
        try await explained("CREATE DATABASE \(name)") {
            try await admin.query("CREATE DATABASE \(unescaped: name)", logger: logger)
        }
    }

    /// `DROP DATABASE name WITH (FORCE)`, which also ends the test's own connections that are still
    /// closing. FORCE refuses with SQLSTATE 42501 while an autovacuum worker is in the new database
    /// (its backend has no role a non-superuser may signal; seen as a CI flake), and the worker
    /// finishes within moments, so that one error is retried for up to `patience`.
    public static func drop(_ name: String, using admin: PostgresClient, logger: Logger,
                            patience: Duration = .seconds(30)) async throws {
        let clock = ContinuousClock()
        let deadline = clock.now + patience
        while true {
            do {
                try await admin.query("DROP DATABASE \(unescaped: name) WITH (FORCE)", logger: logger)
                return
            } catch let error as PSQLError where error.serverInfo?[.sqlState] == "42501" && clock.now < deadline {
                logger.debug("DROP DATABASE waits for an autovacuum worker", metadata: ["database": "\(name)"])
                try await Task.sleep(for: .milliseconds(200))
            } catch {
                throw DatabaseStatementError(statement: "DROP DATABASE \(name) WITH (FORCE)", error: error)
            }
        }
    }

    /// Runs `body`, turning a failure into a `DatabaseStatementError` that names the statement.
    public static func explained<T>(_ statement: String, _ body: () async throws -> T) async throws -> T {
        do { return try await body() } catch {
            throw DatabaseStatementError(statement: statement, error: error)
        }
    }
}

/// A PostgreSQL statement that failed in a test fixture, with the server's message: `PSQLError`'s
/// own description leaves the message out on purpose (it may carry data into logs), and a failing
/// test needs it.
public struct DatabaseStatementError: Error, CustomStringConvertible {
    public let statement: String
    public let detail: String

    public init(statement: String, error: any Error) {
        self.statement = statement
        detail = String(reflecting: error)
    }

    public var description: String { "\(statement): \(detail)" }
}
