import Foundation
import FraudCore
import Testing
@testable import Services

@Suite("Settlement policy")
struct SettlementPolicyTests {
    @Test("what each outcome does to each hold state", arguments: [
        (Outcome.approve, HoldStatus?.some(.held), SettlementEffect.captured),
        (.decline, .held, .released),
        (.review, .held, .keptHeld),
        (.approve, .captured, .alreadyFinal),
        (.decline, .captured, .alreadyFinal),
        (.approve, .released, .alreadyFinal),
        (.review, .released, .alreadyFinal),
        (.approve, nil, .noHold),
        (.decline, nil, .noHold),
    ])
    func effect(outcome: Outcome, status: HoldStatus?, expected: SettlementEffect) {
        #expect(SettlementPolicy.effect(of: outcome, on: status) == expected)
    }
}

@Suite("PostgreSQL URL")
struct PostgresURLTests {
    @Test func parsesEveryPart() throws {
        let url = try PostgresURL(parsing: "postgres://waqiti:s%40cret@db.local:5499/ledger?sslmode=disable")
        #expect(url == PostgresURL(host: "db.local", port: 5499, username: "waqiti", password: "s@cret", database: "ledger"))
        #expect(url.description == "postgres://waqiti:***@db.local:5499/ledger")
    }

    @Test func defaultsPortAndUser() throws {
        #expect(try PostgresURL(parsing: "postgresql://127.0.0.1/waqiti")
            == PostgresURL(host: "127.0.0.1", port: 5432, username: "postgres", password: nil, database: "waqiti"))
    }

    @Test("rejects with the reason and a redacted URL", arguments: [
        ("mysql://u@h/d", "scheme is not postgres in 'mysql://u@h/d'"),
        ("postgres://u:pw@h:99999/d", "invalid port in 'postgres://u:***@h:99999/d'"),
        ("postgres://u@h", "missing /database in 'postgres://u@h'"),
        ("localhost:5432", "missing scheme in 'localhost:5432'"),
    ])
    func rejects(text: String, reason: String) {
        #expect(throws: ConfigurationError(key: "postgres_url", message: reason + "; expected postgres://user[:password]@host[:port]/database")) {
            try PostgresURL(parsing: text)
        }
    }
}

@Suite("Migration files")
struct MigrationFileTests {
    @Test func bundledMigrationsAreNumberedWithoutGaps() throws {
        let migrations = try Migration.bundled()
        #expect(migrations.map(\.version) == Array(1...migrations.count))
        #expect(migrations.map(\.name).prefix(3) == ["wallet_ledger", "payments", "reconciliation"])
    }

    @Test func rejectsAnUnnumberedFile() {
        #expect(throws: MigrationError.badFileName("wallet.sql")) { try Migration(fileName: "wallet.sql", sql: "") }
    }
}

@Suite("Migration statement splitter")
struct SQLStatementsTests {
    @Test func splitsAtTopLevelSemicolonsOnly() {
        let sql = """
            -- a comment; with a semicolon
            CREATE TABLE t (a TEXT DEFAULT ';');
            CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'no; really'; END $$;
            CREATE INDEX "odd;name" ON t (a);
            -- trailing comment only
            """
        let statements = SQLStatements.split(sql).map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        #expect(statements == [
            "-- a comment; with a semicolon\nCREATE TABLE t (a TEXT DEFAULT ';')",
            "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN RAISE EXCEPTION 'no; really'; END $$",
            "CREATE INDEX \"odd;name\" ON t (a)",
        ])
    }

    @Test func everyBundledMigrationSplitsIntoStatements() throws {
        let counts = try Migration.bundled().map { SQLStatements.split($0.sql).count }
        #expect(counts == [19, 4, 4, 4, 2, 3, 3])
    }
}
