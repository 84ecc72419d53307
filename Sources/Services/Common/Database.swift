import Logging
import PostgresNIO

/// The services' PostgreSQL connection pool plus the one transaction helper they all use.
///
/// `PostgresClient` is itself a long-running service (its `run()` owns the pool); the services
/// put it in their `ServiceGroup` so that it starts first and drains last.
public struct Database: Sendable {
    public let client: PostgresClient
    let logger: Logger

    public init(url: PostgresURL, maximumConnections: Int = 20, logger: Logger) {
        var configuration = PostgresClient.Configuration(
            host: url.host, port: url.port, username: url.username, password: url.password,
            database: url.database, tls: .disable
        )
        configuration.options.maximumConnections = maximumConnections
        self.client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.logger = logger
    }

    /// Runs `body` inside BEGIN … COMMIT on one pooled connection, rolling back when it throws.
    ///
    /// Unlike `PostgresClient.withTransaction` this rethrows the body's own error unwrapped, so
    /// callers can match on their typed errors (insufficient funds, unknown wallet) directly.
    public func transaction<Result: Sendable>(
        _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        try await client.withConnection { connection in
            try await connection.query("BEGIN", logger: logger)
            do {
                let result = try await body(connection)
                try await connection.query("COMMIT", logger: logger)
                return result
            } catch {
                // A failed ROLLBACK means the connection is broken; the pool discards it.
                _ = try? await connection.query("ROLLBACK", logger: logger)
                throw error
            }
        }
    }
}

extension Error {
    /// The PostgreSQL SQLSTATE of a server-side error, e.g. "23505" for a unique violation.
    var sqlState: String? {
        (self as? PSQLError)?.serverInfo?[.sqlState]
    }

    /// The constraint a server-side integrity error names, if any.
    var constraintName: String? {
        (self as? PSQLError)?.serverInfo?[.constraintName]
    }
}
