import Logging
import PostgresNIO

/// The services' PostgreSQL connection pool plus the one transaction helper they all use.
///
/// `PostgresClient` owns its pool in a long-running `run()`; the services keep it running
/// around everything else (`PostgresClient.whileRunning`), so it starts first and drains last.
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
                // A statement whose rows the body did not read (`SELECT f(…)` for its effect) can
                // fail after its query returned, unseen; PostgreSQL then answers COMMIT with
                // ROLLBACK and no error. Unchecked, a settlement batch whose function raised was
                // reported applied and its offsets committed with no money moved.
                let commit: EventLoopFuture<PostgresQueryResult> = connection.query("COMMIT", logger: logger)
                let command = try await commit.get().metadata.command
                guard command == "COMMIT" else { throw TransactionRolledBack(command: command) }
                return result
            } catch {
                // A failed ROLLBACK means the connection is broken; the pool discards it.
                _ = try? await connection.query("ROLLBACK", logger: logger)
                throw error
            }
        }
    }
}

/// COMMIT was answered with something else (ROLLBACK): a statement of the transaction failed
/// without its error reaching the caller, and nothing of it was written.
public struct TransactionRolledBack: Error, Equatable, CustomStringConvertible {
    public var command: String

    public var description: String {
        "PostgreSQL answered COMMIT with \(command): a statement of the transaction failed unseen (a query whose rows were not "
            + "read) and nothing was written; read every query's rows (e.g. `.collect()`) so its error surfaces"
    }
}

extension PostgresClient {
    /// Runs the pool for the duration of `body` and closes it after, `body`'s result or error
    /// passed through.
    ///
    /// The pool runs in a task of its own, not a child of the caller: a child is cancelled with
    /// its parent, so a cancelled service's pool stopped beside its loops, and a query one of them
    /// sent after that (the outbox relay runs a transaction every 20 ms) waited for a connection
    /// for good; the service never ended. The pool now outlives `body` and is cancelled, and
    /// awaited, once `body` returned.
    ///
    /// `body` starts only after the pool's task has signalled and gone straight into `run()`,
    /// whose first step sets the client's running flag: a query leased before that waits, but
    /// PostgresNIO logs "Trying to lease connection from `PostgresClient`, but
    /// `PostgresClient.run()` hasn't been called yet" at every service's start.
    public func whileRunning<T>(_ body: () async throws -> T) async throws -> T {
        let (started, signal) = AsyncStream<Void>.makeStream()
        let pool = Task {
            signal.finish()
            await self.run()
        }
        for await _ in started {}
        let result: Result<T, any Error>
        do { result = .success(try await body()) } catch { result = .failure(error) }
        pool.cancel()
        await pool.value
        return try result.get()
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
