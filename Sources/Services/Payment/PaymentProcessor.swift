import FraudCore
import Foundation
import Logging

/// What `submit` tells the HTTP layer: the payment, and whether this request created it.
public struct SubmitResult: Sendable {
    public var record: PaymentRecord
    /// False when the Idempotency-Key was seen before and the stored payment is returned.
    public var created: Bool
}

/// Why a submission was refused before a payment existed, or could not finish.
public enum SubmitError: Error, Equatable, CustomStringConvertible {
    case invalid(PaymentValidationError)
    case idempotencyKeyReused(key: String, paymentID: String)
    /// The wallet did not answer; the payment stays `received` and a retry with the same
    /// Idempotency-Key resumes it where it stopped. (The broker is not on this path: the outbox
    /// relay publishes once it is back.)
    case unavailable(paymentID: String, reason: String)

    public var description: String {
        switch self {
        case .invalid(let error): error.description
        case .idempotencyKeyReused(let key, let payment):
            "Idempotency-Key '\(key)' was already used for payment \(payment) with a different body; use a new key for a new payment"
        case .unavailable(let payment, let reason):
            "payment \(payment) is stored but not yet submitted (\(reason)); retry with the same Idempotency-Key"
        }
    }
}

/// The payment service's use case: store ▶ hold funds ▶ (optionally score synchronously) ▶
/// `pending` plus an outbox row for the engine (OutboxRelay publishes it), each step idempotent
/// so that a retried request resumes rather than duplicates.
public struct PaymentProcessor: Sendable {
    let store: PaymentStore
    let wallet: any WalletClient
    /// Set in synchronous mode: the decision is asked for over HTTP before publishing, and the
    /// answer returned to the client; on any failure the payment goes on asynchronously.
    let scorer: (any EngineScorer)?
    let paymentsTopic: String
    let metrics: PaymentMetrics
    let logger: Logger
    let clock: @Sendable () -> EventTime
    /// How far from `clock` a client's `occurred_at` may be.
    let occurredAtBounds: OccurredAtBounds

    public init(store: PaymentStore, wallet: any WalletClient, scorer: (any EngineScorer)? = nil, paymentsTopic: String, metrics: PaymentMetrics, logger: Logger,
                clock: @escaping @Sendable () -> EventTime = WallClock.now, occurredAtBounds: OccurredAtBounds = .default) {
        self.store = store
        self.wallet = wallet
        self.scorer = scorer
        self.paymentsTopic = paymentsTopic
        self.metrics = metrics
        self.logger = logger
        self.clock = clock
        self.occurredAtBounds = occurredAtBounds
    }

    public func submit(_ request: PaymentRequest, idempotencyKey: String) async throws -> SubmitResult {
        let fingerprint = request.fingerprint
        let stored: PaymentRecord, inserted: Bool
        do {
            let event = try request.validated(paymentID: "pay_" + UUID().uuidString.lowercased(), now: clock(), bounds: occurredAtBounds)
            (stored, inserted) = try await store.insertOrFetch(event, idempotencyKey: idempotencyKey, fingerprint: fingerprint)
        } catch let error as PaymentValidationError {
            // A retry of a payment stored while its occurred_at was within bounds is still a
            // retry once that time has aged past them: it gets the stored payment, not a 400.
            guard error.isOutsideTimeBounds, let existing = try await store.fetch(idempotencyKey: idempotencyKey) else {
                throw SubmitError.invalid(error)
            }
            (stored, inserted) = (existing, false)
        }
        guard stored.requestFingerprint == fingerprint else {
            throw SubmitError.idempotencyKeyReused(key: idempotencyKey, paymentID: stored.paymentID)
        }
        if !inserted { metrics.duplicates.increment() }
        // A payment stuck in `received` (wallet or broker was down) resumes on the retry.
        guard stored.status == .received else { return SubmitResult(record: stored, created: inserted) }
        let record = try await advance(stored)
        if inserted { metrics.submitted(record.status).increment() }
        return SubmitResult(record: record, created: inserted)
    }

    /// Carries on a payment left `received`, as a retry of its request would: the hold is
    /// idempotent by payment id, so a hold that was placed but whose answer was lost is found
    /// again, and the payment moves to `pending` (or is declined if the wallet refuses).
    public func resume(_ record: PaymentRecord) async throws -> PaymentRecord {
        guard record.status == .received else { return record }
        let resumed = try await advance(record)
        metrics.resumed.increment()
        return resumed
    }

    private func advance(_ record: PaymentRecord) async throws -> PaymentRecord {
        var record = record
        let event = record.event
        let answer: HoldAnswer
        do {
            answer = try await wallet.hold(HoldRequest(paymentID: event.paymentID, walletID: event.accountID,
                                                       merchantID: event.merchantID, amount: event.amount))
        } catch {
            logger.warning("hold failed; payment stays received", metadata: ["payment_id": "\(event.paymentID)", "error": "\(error)"])
            throw SubmitError.unavailable(paymentID: event.paymentID, reason: "\(error)")
        }
        switch answer {
        case .insufficientFunds, .unknownWallet:
            let reason: DeclineReason = answer == .insufficientFunds ? .insufficientFunds : .unknownWallet
            // The wallet's refusal is final for this payment id (0006), so no other attempt at it
            // can hold funds now; one may have declined it first: answer what is stored.
            guard try await store.declineBeforeScoring(event.paymentID, reason: reason) else {
                return try await store.fetch(paymentID: event.paymentID) ?? record
            }
            record.status = .declined
            record.declineReason = reason
            return record
        case .held:
            break
        }
        // Scored before publishing: the engine remembers the decision, so the copy it then reads
        // from `payments` gets the same decision and counts in no window twice.
        let synchronous = await scoreSynchronously(event)
        let outgoing = OutgoingRecord(topic: paymentsTopic, key: event.accountID, value: EventEncoder().encode(event))
        guard try await store.markPendingAndEnqueue(event.paymentID, record: outgoing) else {
            return try await store.fetch(paymentID: event.paymentID) ?? record
        }
        guard let synchronous else {
            record.status = .pending
            return record
        }
        for seconds in try await store.applyDecisions([synchronous]) {
            metrics.decisionLatency.recordNanoseconds(Int64(seconds * 1e9))
        }
        return try await store.fetch(paymentID: event.paymentID) ?? record
    }

    /// The engine's decision, or nil (logged and counted) to continue on the asynchronous path.
    private func scoreSynchronously(_ event: PaymentEvent) async -> DecisionEnvelope? {
        guard let scorer else { return nil }
        do {
            let decision = try await scorer.score(event)
            guard decision.paymentID == event.paymentID else {
                throw EngineScoringFailure(reason: "the engine answered for payment \(decision.paymentID)")
            }
            metrics.synchronousScoring(.decided).increment()
            return decision
        } catch {
            metrics.synchronousScoring(.fellBack).increment()
            logger.warning("synchronous scoring failed; the decision will come from fraud-decisions",
                           metadata: ["payment_id": "\(event.paymentID)", "error": "\(error)"])
            return nil
        }
    }
}

/// The process's wall clock as event time: when a payment request carries no `occurred_at`.
public enum WallClock {
    @Sendable public static func now() -> EventTime {
        EventTime(millisecondsSinceEpoch: Int64(Date().timeIntervalSince1970 * 1000))
    }
}
