import Foundation
import Logging
import PostgresNIO
import Prometheus

/// `platform.parked_messages` (migration 0007): the records a consumer set aside because they can
/// never be applied, each kept with where it came from and why, so the stream moves on without
/// losing them.
public struct ParkedMessages: Sendable {
    let database: Database

    public init(database: Database) { self.database = database }

    /// How a record came to be parked (the table's `failure` column).
    public enum Failure: String, Sendable, Codable {
        case refused, undecodable, repeated
    }

    /// One parked record, as stored.
    public struct Entry: Sendable, Equatable, Codable {
        public var id: Int64
        public var consumer: String
        public var topic: String
        public var partition: Int32
        public var offset: Int64
        public var key: [UInt8]?
        public var payload: [UInt8]
        public var failure: Failure
        public var sqlState: String?
        public var error: String
        public var parkedAt: Date
        public var resolvedAt: Date?
        public var resolution: String?
    }

    /// Stores `record` unless this consumer already parked it (a redelivery after a crash before
    /// the offset commit); true when this call stored it.
    @discardableResult
    public func park(_ record: ConsumedRecord, consumer: String, failure: Failure, cause: ConsumerFailure) async throws -> Bool {
        // PostgreSQL text cannot hold NUL, and a decoder's message may quote the record.
        let error = cause.message.replacingOccurrences(of: "\u{0}", with: "\\u0000")
        let key = record.key.map { ByteBuffer(bytes: $0) }
        let rows = try await database.client.query("""
            INSERT INTO platform.parked_messages
                (consumer, topic, kafka_partition, kafka_offset, message_key, payload, failure, sqlstate, error)
            VALUES (\(consumer), \(record.topic), \(record.partition), \(record.offset), \(key), \(ByteBuffer(bytes: record.value)),
                    \(failure.rawValue), \(cause.sqlState), \(error))
            ON CONFLICT ON CONSTRAINT parked_once DO NOTHING
            RETURNING id
            """, logger: database.logger).collect()
        return !rows.isEmpty
    }

    /// Parked records, oldest first; `unresolvedOnly` leaves out those already replayed or settled,
    /// `id` picks one.
    public func list(consumer: String? = nil, id: Int64? = nil, unresolvedOnly: Bool = true) async throws -> [Entry] {
        var entries: [Entry] = []
        let rows = try await database.client.query("""
            SELECT id, consumer, topic, kafka_partition, kafka_offset, message_key, payload, failure, sqlstate, error,
                   parked_at, resolved_at, resolution
            FROM platform.parked_messages
            WHERE (\(consumer)::TEXT IS NULL OR consumer = \(consumer)) AND (\(id)::BIGINT IS NULL OR id = \(id))
              AND (NOT \(unresolvedOnly) OR resolved_at IS NULL)
            ORDER BY id
            """, logger: database.logger)
        for try await (id, consumer, topic, partition, offset, key, payload, failure, sqlState, error, parkedAt, resolvedAt, resolution)
            in rows.decode((Int64, String, String, Int32, Int64, ByteBuffer?, ByteBuffer, String, String?, String, Date, Date?, String?).self) {
            entries.append(Entry(
                id: id, consumer: consumer, topic: topic, partition: partition, offset: offset,
                key: key.map { Array($0.readableBytesView) }, payload: Array(payload.readableBytesView),
                failure: Failure(rawValue: failure) ?? .refused, sqlState: sqlState, error: error,
                parkedAt: parkedAt, resolvedAt: resolvedAt, resolution: resolution))
        }
        return entries
    }

    /// Publishes an unresolved parked record again to its topic, with its key as it was read (the
    /// same bytes, or none, so the same partition), and once the broker acknowledged it marks it resolved as `replayed`; nil when no unresolved
    /// record has this id. Every consumer group of the topic receives it again, which is safe:
    /// each applies a decision or event once per payment id. Replay only after fixing what refused
    /// it, or it is parked again under its new offset.
    public func replay(id: Int64, publisher: any RecordPublisher) async throws -> Entry? {
        guard let entry = try await list(id: id).first else { return nil }
        try await publisher.publish(topic: entry.topic, rawKey: entry.key, value: entry.payload)
        try await resolve(id: id, resolution: "replayed")
        return entry
    }

    /// Marks a parked record settled (`resolution` says how); false when it is unknown or was
    /// settled before.
    @discardableResult
    public func resolve(id: Int64, resolution: String) async throws -> Bool {
        let rows = try await database.client.query("""
            UPDATE platform.parked_messages SET resolved_at = now(), resolution = \(resolution)
            WHERE id = \(id) AND resolved_at IS NULL RETURNING id
            """, logger: database.logger).collect()
        return !rows.isEmpty
    }
}

extension ParkedMessages.Entry {
    /// The record as the consumer read it, to hand to its handler again.
    public var record: ConsumedRecord {
        ConsumedRecord(topic: topic, partition: partition, offset: offset, key: key, value: payload)
    }
}

/// A consumer loop's counters: records parked (`waqiti_service_messages_parked_total`) and failed
/// batch attempts by kind (`waqiti_service_consumer_failures_total`; transient and unclassified
/// ones are retried, so a count that keeps rising is a consumer that is not moving).
public struct ConsumerMetrics: Sendable {
    let parked: Counter
    let failures: [ConsumerFailure.Kind: Counter]

    public init(registry: PrometheusCollectorRegistry, consumer: String) {
        parked = registry.makeCounter(
            descriptor: .init(metricName: "waqiti_service_messages_parked_total", unitName: "",
                              helpText: "Records a platform consumer parked in parked_messages because they can never be applied."),
            labels: [("consumer", consumer)])
        failures = Dictionary(uniqueKeysWithValues: [ConsumerFailure.Kind.transient, .permanent, .unclassified].map {
            ($0, registry.makeCounter(
                descriptor: .init(metricName: "waqiti_service_consumer_failures_total", unitName: "",
                                  helpText: "Failed batch attempts of a platform consumer, by kind of failure."),
                labels: [("consumer", consumer), ("kind", $0.rawValue)]))
        })
    }
}
