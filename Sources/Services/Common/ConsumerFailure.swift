import PostgresNIO

/// Why a consumer's handler failed a batch, and whether trying the same records again can help.
///
/// ConsumerLoop retries `transient` failures for as long as they last, isolates and parks the
/// records of a `permanent` one, and retries an `unclassified` one like a transient failure
/// until the same failure came back `unclassified_failure_limit` times in a row for the same
/// records, after which it treats it as permanent (docs/services.md, "Records that cannot be
/// applied").
public struct ConsumerFailure: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// The database or the network is unwell (connection lost, 40001, 40P01, 57P01, 53300,
        /// a schema or privilege problem …): every record would fail alike, so nothing is parked.
        case transient
        /// The database refused what a record holds, or the record does not decode: the same
        /// records fail the same way every time.
        case permanent
        /// Neither is known; retried like a transient failure, but only so many times.
        case unclassified
    }

    public var kind: Kind
    /// The server's SQLSTATE, nil for a failure that did not come from PostgreSQL.
    public var sqlState: String?
    /// What failed: the server's message and detail, or the error's own description.
    public var message: String

    public init(kind: Kind, sqlState: String?, message: String) {
        self.kind = kind
        self.sqlState = sqlState
        self.message = message
    }

    public var description: String { sqlState.map { "\($0): \(message)" } ?? message }

    /// Server errors by SQLSTATE; any other PSQLError is a connection or protocol failure
    /// (closed, reset, pool shut down), which passes; anything else is unclassified.
    public init(classifying error: any Error) {
        if let error = error as? PSQLError {
            guard error.code == .server, let sqlState = error.serverInfo?[.sqlState] else {
                self.init(kind: .transient, sqlState: nil, message: "PostgreSQL connection failure (\(error.code))")
                return
            }
            let text = [error.serverInfo?[.message], error.serverInfo?[.detail]].compactMap { $0 }.joined(separator: "; ")
            self.init(kind: Self.kind(ofSQLState: sqlState), sqlState: sqlState, message: text)
            return
        }
        if let undecodable = error as? UndecodableRecords {
            self.init(kind: .permanent, sqlState: nil, message: undecodable.description)
            return
        }
        self.init(kind: .unclassified, sqlState: nil, message: String(reflecting: error))
    }

    /// By the SQLSTATE's class (its first two characters), with unique violations set apart.
    ///
    /// Permanent are the classes that judge a value: 22 data exception (a string too long, a
    /// NUL, a number or date out of range, JSON PostgreSQL cannot store), 23 integrity constraint
    /// violation (a CHECK, NOT NULL or foreign key), 44 WITH CHECK OPTION, 54 program limit (a
    /// value too large to index) and P0 (the ledger's invariant triggers RAISE). A unique
    /// violation (23505) is how the wallet's applied instructions refuse a batch that a
    /// concurrent or earlier delivery applied first: a retry reads that row and takes the
    /// redelivery path, so it is unclassified (bounded), not parked at once. Every other class
    /// (08 connection, 40 rollback, 53 resources, 55 lock, 57 operator intervention, 58/XX system,
    /// 42 schema or privilege, 25, 28, 3D …) is about the database rather than a record, and
    /// fails every record alike: parking would empty the topic into the table.
    public static func kind(ofSQLState sqlState: String) -> Kind {
        if sqlState == "23505" { return .unclassified }
        switch sqlState.prefix(2) {
        case "22", "23", "44", "54", "P0": return .permanent
        default: return .transient
        }
    }
}

/// Thrown by a handler, before it wrote anything, for the records of its batch it cannot decode;
/// ConsumerLoop parks these and hands the rest of the batch back to the handler.
public struct UndecodableRecords: Error, CustomStringConvertible {
    public struct Refusal: Error, Sendable {
        public var record: ConsumedRecord
        public var reason: String

        public init(record: ConsumedRecord, reason: String) {
            self.record = record
            self.reason = reason
        }
    }

    public var refusals: [Refusal]

    public init(_ refusals: [Refusal]) { self.refusals = refusals }

    public var description: String {
        refusals.map { "\($0.record.topic)/\($0.record.partition)@\($0.record.offset): \($0.reason)" }.joined(separator: "; ")
    }
}
