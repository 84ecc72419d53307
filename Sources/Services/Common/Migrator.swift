import FraudCore
import Foundation
import Logging
import PostgresNIO

/// One versioned schema change: `NNNN_name.sql` under Migrations/SQL.
public struct Migration: Sendable, Equatable {
    public var version: Int
    public var name: String
    public var sql: String

    /// SHA-256 of the SQL text; an applied migration whose file later changed is refused at start.
    public var checksum: String { SHA256.hex(sql) }

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }

    /// The migrations shipped with this build, in version order.
    public static func bundled() throws -> [Migration] {
        guard let directory = Bundle.module.url(forResource: "SQL", withExtension: nil) else {
            throw MigrationError.missingResources
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".sql") }
        return try files.map { file in
            let sql = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
            return try Migration(fileName: file, sql: sql)
        }.sorted { $0.version < $1.version }
    }

    init(fileName: String, sql: String) throws {
        let stem = fileName.dropLast(".sql".count)
        guard let underscore = stem.firstIndex(of: "_"), let version = Int(stem[..<underscore]), version > 0 else {
            throw MigrationError.badFileName(fileName)
        }
        self.init(version: version, name: String(stem[stem.index(after: underscore)...]), sql: sql)
    }
}

public enum MigrationError: Error, Equatable, CustomStringConvertible {
    case missingResources
    case badFileName(String)
    case changedAfterApply(version: Int, name: String)
    case unknownVersionApplied(Int)

    public var description: String {
        switch self {
        case .missingResources:
            "the Migrations/SQL resource bundle is missing next to the executable; rebuild with `swift build`"
        case .badFileName(let file):
            "migration file '\(file)' must be named NNNN_description.sql with NNNN > 0"
        case .changedAfterApply(let version, let name):
            "migration \(version) (\(name)) was edited after it was applied; add a new migration instead"
        case .unknownVersionApplied(let version):
            "the database has migration \(version) which this build does not know; run a newer build"
        }
    }
}

/// Applies pending migrations at start-up, each in its own transaction, recorded in
/// `public.waqiti_schema_migrations`.
///
/// All three services share one database and start together, so the migrator takes a
/// transaction-scoped advisory lock: whoever gets it first migrates, the others wait and then
/// find nothing left to do. Running it again is a no-op.
public struct Migrator: Sendable {
    let database: Database
    let migrations: [Migration]

    /// Arbitrary but fixed: the advisory lock key every Waqiti service migrates under.
    static let lockKey: Int64 = 0x5741_5149_5449_4442

    public init(database: Database, migrations: [Migration]) {
        self.database = database
        self.migrations = migrations
    }

    /// Returns the versions it applied (empty when the schema was already current).
    @discardableResult
    public func migrate() async throws -> [Int] {
        let logger = database.logger
        return try await database.transaction { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.lockKey))", logger: logger)
            try await connection.query("""
                CREATE TABLE IF NOT EXISTS public.waqiti_schema_migrations (
                    version    INTEGER     PRIMARY KEY,
                    name       TEXT        NOT NULL,
                    checksum   TEXT        NOT NULL,
                    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
                )
                """, logger: logger)
            var applied: [Int: String] = [:]
            for try await (version, checksum) in try await connection.query(
                "SELECT version, checksum FROM public.waqiti_schema_migrations", logger: logger
            ).decode((Int, String).self) {
                applied[version] = checksum
            }
            let known = Dictionary(uniqueKeysWithValues: migrations.map { ($0.version, $0) })
            if let unknown = applied.keys.sorted().first(where: { known[$0] == nil }) {
                throw MigrationError.unknownVersionApplied(unknown)
            }
            var done: [Int] = []
            for migration in migrations {
                if let checksum = applied[migration.version] {
                    guard checksum == migration.checksum else {
                        throw MigrationError.changedAfterApply(version: migration.version, name: migration.name)
                    }
                    continue
                }
                // Statement by statement, inside this transaction: a failing file leaves no
                // half-applied schema.
                for statement in SQLStatements.split(migration.sql) {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query("""
                    INSERT INTO public.waqiti_schema_migrations (version, name, checksum)
                    VALUES (\(migration.version), \(migration.name), \(migration.checksum))
                    """, logger: logger)
                logger.info("applied migration", metadata: ["version": "\(migration.version)", "name": "\(migration.name)"])
                done.append(migration.version)
            }
            return done
        }
    }
}
