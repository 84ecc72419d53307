import FraudCore
import Foundation
import Logging
import PostgresNIO

/// A payment as stored, and as `GET /api/v1/payments/{id}` returns it.
public struct PaymentRecord: Sendable, Equatable, Encodable {
    public var paymentID: String
    public var idempotencyKey: String
    public var requestFingerprint: String
    public var event: PaymentEvent
    public var status: PaymentStatus
    public var declineReason: DeclineReason?
    /// The engine's decision message verbatim (reasons, scores, versions), once decided.
    public var decisionJSON: String?
    public var reviewer: String?
    public var reviewNote: String?

    enum CodingKeys: String, CodingKey {
        case paymentID = "payment_id", status, declineReason = "decline_reason", decision, review
        case accountID = "account_id", merchantID = "merchant_id", amountMinor = "amount_minor", currency
        case occurredAt = "occurred_at"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(paymentID, forKey: .paymentID)
        try container.encode(status, forKey: .status)
        try container.encodeIfPresent(declineReason, forKey: .declineReason)
        try container.encode(event.accountID, forKey: .accountID)
        try container.encode(event.merchantID, forKey: .merchantID)
        try container.encode(event.amount.minorUnits, forKey: .amountMinor)
        try container.encode(event.amount.currency.code, forKey: .currency)
        try container.encode(RFC3339.format(event.occurredAt), forKey: .occurredAt)
        if let decisionJSON, let object = try? JSONDecoder().decode(JSONValue.self, from: Data(decisionJSON.utf8)) {
            try container.encode(object, forKey: .decision)
        }
        if let reviewer {
            try container.encode(["reviewer": reviewer, "note": reviewNote ?? ""], forKey: .review)
        }
    }
}

/// The payment service's table (schema `payments`, 0002_payments.sql).
public struct PaymentStore: Sendable {
    let database: Database
    var logger: Logger { database.logger }

    public init(database: Database) { self.database = database }

    /// Inserts a new payment under its idempotency key, or returns the payment already stored
    /// under that key (`inserted == false`).
    public func insertOrFetch(_ event: PaymentEvent, idempotencyKey: String, fingerprint: String) async throws -> (record: PaymentRecord, inserted: Bool) {
        let metadata = String(decoding: try JSONBody.encoder.encode(event.metadata), as: UTF8.self)
        let occurred = Date(timeIntervalSince1970: Double(event.occurredAt.millisecondsSinceEpoch) / 1000)
        let inserted = try await database.client.query("""
            INSERT INTO payments.payments (
                payment_id, idempotency_key, request_hash, account_id, card_fingerprint, device_id, ip,
                merchant_id, mcc, amount_minor, currency, card_country, ip_country, channel, type,
                beneficiary_id, metadata, occurred_at, status)
            VALUES (\(event.paymentID), \(idempotencyKey), \(fingerprint), \(event.accountID), \(event.cardFingerprint),
                \(event.deviceID), \(event.ip), \(event.merchantID), \(event.mcc), \(event.amount.minorUnits),
                \(event.amount.currency.code), \(event.cardCountry), \(event.ipCountry), \(event.channel.rawValue),
                \(event.type.rawValue), \(event.beneficiaryID), \(metadata)::jsonb, \(occurred), 'received')
            ON CONFLICT ON CONSTRAINT payments_one_per_idempotency_key DO NOTHING
            RETURNING payment_id
            """, logger: logger).collect()
        if !inserted.isEmpty {
            return (PaymentRecord(paymentID: event.paymentID, idempotencyKey: idempotencyKey, requestFingerprint: fingerprint,
                                  event: event, status: .received), true)
        }
        guard let existing = try await fetch(idempotencyKey: idempotencyKey) else {
            preconditionFailure("idempotency key \(idempotencyKey) conflicted but no row holds it")
        }
        return (existing, false)
    }

    public func fetch(paymentID: String) async throws -> PaymentRecord? {
        try await fetch(where: "payment_id = \(paymentID)")
    }

    public func fetch(idempotencyKey: String) async throws -> PaymentRecord? {
        try await fetch(where: "idempotency_key = \(idempotencyKey)")
    }

    /// The status of each of `paymentIDs` that exists; unknown ids are absent. One statement
    /// (`payment_id = ANY(…)`, the primary key's index) for what would be a request per payment.
    public func statuses(of paymentIDs: [String]) async throws -> [String: PaymentStatus] {
        var statuses: [String: PaymentStatus] = [:]
        let rows = try await database.client.query(
            "SELECT payment_id, status FROM payments.payments WHERE payment_id = ANY(\(paymentIDs))", logger: logger)
        for try await (id, status) in rows.decode((String, String).self) {
            statuses[id] = PaymentStatus(rawValue: status)
        }
        return statuses
    }

    /// Payments still `received` after `age`, oldest first: their request stopped before the
    /// hold was answered (the wallet was down or slow) and no retry has come yet.
    public func stuckReceived(olderThan age: Duration, limit: Int) async throws -> [PaymentRecord] {
        let seconds = Double(age.components.seconds) + Double(age.components.attoseconds) / 1e18
        return try await select(where: "status = 'received' AND created_at <= now() - make_interval(secs => \(seconds)) ORDER BY created_at, payment_id LIMIT \(limit)")
    }

    /// Payments waiting for an analyst, oldest first.
    public func reviewQueue(limit: Int) async throws -> [PaymentRecord] {
        try await select(where: "status = 'in_review' ORDER BY created_at, payment_id LIMIT \(limit)")
    }

    /// Funds held: moves the payment from `received` to `pending` and owes its event to the
    /// broker (the outbox row), in one statement. False when the payment was not `received` (a
    /// concurrent retry of the same request got there first), in which case nothing is written.
    public func markPendingAndEnqueue(_ paymentID: String, record: OutgoingRecord) async throws -> Bool {
        let enqueued = try await database.client.query("""
            WITH moved AS (
                UPDATE payments.payments SET status = 'pending', updated_at = now()
                WHERE payment_id = \(paymentID) AND status = 'received'
                RETURNING payment_id)
            INSERT INTO payments.outbox (payment_id, topic, key, value)
            SELECT payment_id, \(record.topic), \(record.key), \(ByteBuffer(bytes: record.value)) FROM moved
            RETURNING id
            """, logger: logger).collect()
        return !enqueued.isEmpty
    }

    /// Declines a payment the wallet could not fund; only one still `received` is changed.
    /// False when it was not `received` (a concurrent request with the same Idempotency-Key
    /// moved it on first), in which case nothing is written.
    @discardableResult
    public func declineBeforeScoring(_ paymentID: String, reason: DeclineReason) async throws -> Bool {
        let declined = try await database.client.query("""
            UPDATE payments.payments SET status = 'declined', decline_reason = \(reason.rawValue), updated_at = now()
            WHERE payment_id = \(paymentID) AND status = 'received'
            RETURNING payment_id
            """, logger: logger).collect()
        return !declined.isEmpty
    }

    /// Applies engine decisions in one statement. Only undecided payments move, so a redelivered
    /// decision, or a second one with another outcome, changes nothing; within one batch the first
    /// decision for a payment wins, as it would applied one by one. Returns, for each payment that
    /// moved, the seconds from its publication to now (the payment→decision latency).
    @discardableResult
    public func applyDecisions(_ decisions: [DecisionEnvelope]) async throws -> [Double] {
        var seen = Set<String>()
        let firsts = decisions.filter { seen.insert($0.paymentID).inserted }
        guard !firsts.isEmpty else { return [] }
        let ids = firsts.map(\.paymentID)
        let statuses = firsts.map { PaymentStatus.after($0.outcome).rawValue }
        // '' stands for no reason: an array of optionals does not bind as text[].
        let reasons = firsts.map { $0.outcome == .decline ? DeclineReason.fraud.rawValue : "" }
        let bodies = firsts.map { String(decoding: $0.raw, as: UTF8.self) }
        let decidedAt = firsts.map(\.decidedAt.millisecondsSinceEpoch)
        // The rows are locked in payment id order before they are updated, as the outbox relay's
        // marks lock them: locked in whatever order each plan visited them, a batch of decisions
        // and a batch of marks over the same payments deadlocked (40P01) in the quick start.
        let rows = try await database.client.query("""
            WITH d AS (
                SELECT * FROM unnest(\(ids), \(statuses), \(reasons), \(bodies), \(decidedAt)) AS d(payment_id, status, reason, body, decided_ms)),
            locked AS (
                SELECT payment_id FROM payments.payments
                WHERE payment_id IN (SELECT payment_id FROM d) AND status IN ('received', 'pending')
                ORDER BY payment_id FOR UPDATE)
            UPDATE payments.payments p
            SET status = d.status, decline_reason = nullif(d.reason, ''), decision = d.body::jsonb,
                decided_at = to_timestamp(d.decided_ms / 1000.0), updated_at = now()
            FROM d JOIN locked USING (payment_id)
            WHERE p.payment_id = d.payment_id AND p.status IN ('received', 'pending')
            RETURNING extract(epoch FROM now() - coalesce(p.published_at, p.created_at))::float8
            """, logger: logger)
        var latencies: [Double] = []
        for try await seconds in rows.decode(Double.self) { latencies.append(seconds) }
        return latencies
    }

    /// Locks an in-review payment and records the analyst's resolution together with `outcome`
    /// (the wallet's instruction) in the outbox, in one transaction under the row lock, so two
    /// analysts cannot resolve it two ways and the instruction goes out exactly when the
    /// resolution stands. (Publishing inside the transaction before the update sent it even when
    /// the commit then failed, or when a broker timeout was ambiguous: the wallet captured or
    /// released for a payment still in review, and a second analyst's answer could contradict it.)
    /// The outbox relay publishes it, at least once; the wallet applies an instruction once.
    /// Returns nil when the payment is not (or no longer) in review.
    public func resolveReview(_ paymentID: String, resolution: ReviewOutcome.Resolution, reviewer: String, note: String?,
                              outcome: OutgoingRecord) async throws -> PaymentRecord? {
        let resolved = try await database.transaction { connection -> Bool in
            let locked = try await connection.query("""
                SELECT 1 FROM payments.payments WHERE payment_id = \(paymentID) AND status = 'in_review' FOR UPDATE
                """, logger: logger).collect()
            guard !locked.isEmpty else { return false }
            let status: PaymentStatus = resolution == .approve ? .approved : .declined
            let reason: String? = resolution == .decline ? DeclineReason.review.rawValue : nil
            try await connection.query("""
                UPDATE payments.payments
                SET status = \(status.rawValue), decline_reason = \(reason), reviewer = \(reviewer), review_note = \(note),
                    reviewed_at = now(), updated_at = now()
                WHERE payment_id = \(paymentID)
                """, logger: logger)
            try await connection.query("""
                INSERT INTO payments.outbox (payment_id, topic, key, value)
                VALUES (\(paymentID), \(outcome.topic), \(outcome.key), \(ByteBuffer(bytes: outcome.value)))
                """, logger: logger)
            return true
        }
        return resolved ? try await fetch(paymentID: paymentID) : nil
    }

    private func fetch(where condition: PostgresQuery) async throws -> PaymentRecord? {
        try await select(where: condition).first
    }

    private func select(where condition: PostgresQuery) async throws -> [PaymentRecord] {
        var query: PostgresQuery = """
            SELECT payment_id, idempotency_key, request_hash, account_id, card_fingerprint, device_id, ip, merchant_id, mcc,
                   amount_minor, currency, card_country, ip_country, channel, type, beneficiary_id, metadata::text,
                   (extract(epoch FROM occurred_at) * 1000)::BIGINT, status, decline_reason, decision::text, reviewer, review_note
            FROM payments.payments WHERE
            """
        query.sql += " " + condition.sql
        query.binds = condition.binds
        var records: [PaymentRecord] = []
        for try await row in try await database.client.query(query, logger: logger) {
            let cells = row.makeRandomAccess()
            func text(_ i: Int) throws -> String { try cells[i].decode(String.self) }
            func optional(_ i: Int) throws -> String? { try cells[i].decode(String?.self) }
            let metadata = (try? JSONDecoder().decode([String: String].self, from: Data(try text(16).utf8))) ?? [:]
            let event = PaymentEvent(
                paymentID: try text(0), occurredAt: EventTime(millisecondsSinceEpoch: try cells[17].decode(Int64.self)),
                accountID: try text(3), cardFingerprint: try text(4), deviceID: try text(5), ip: try text(6),
                merchantID: try text(7), mcc: try text(8),
                amount: Money(minorUnits: try cells[9].decode(Int64.self), currency: Currency(try text(10)) ?? .usd),
                cardCountry: try text(11), ipCountry: try text(12), channel: Channel(rawValue: try text(13)) ?? .ecom,
                type: PaymentType(rawValue: try text(14)) ?? .payment, beneficiaryID: try optional(15), metadata: metadata)
            records.append(PaymentRecord(
                paymentID: event.paymentID, idempotencyKey: try text(1), requestFingerprint: try text(2), event: event,
                status: PaymentStatus(rawValue: try text(18)) ?? .received,
                declineReason: try optional(19).flatMap(DeclineReason.init(rawValue:)), decisionJSON: try optional(20),
                reviewer: try optional(21), reviewNote: try optional(22)))
        }
        return records
    }
}
