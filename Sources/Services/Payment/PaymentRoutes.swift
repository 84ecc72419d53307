import FraudCore
import HTTPTypes
import Hummingbird
import Server

/// The payment service's HTTP API (port 8081). Each route first checks the caller's scope
/// (docs/services.md, Authentication); a review is recorded as resolved by the caller's subject.
public struct PaymentRoutes: Sendable {
    let processor: PaymentProcessor
    let store: PaymentStore
    let reviewsTopic: String
    let clock: @Sendable () -> EventTime

    public init(processor: PaymentProcessor, store: PaymentStore, reviewsTopic: String,
                clock: @escaping @Sendable () -> EventTime = WallClock.now) {
        self.processor = processor
        self.store = store
        self.reviewsTopic = reviewsTopic
        self.clock = clock
    }

    public func add<Context: RequestContext>(to router: Router<Context>) {
        router.post("/api/v1/payments") { request, _ -> Response in
            try Caller.require(.paymentsWrite)
            guard let key = request.headers[HTTPField.Name("Idempotency-Key")!], !key.isEmpty, key.utf8.count <= 255 else {
                throw ServiceHTTPError(.badRequest, code: "idempotency_key_required",
                                       message: "send an Idempotency-Key header (1 to 255 characters, e.g. a UUID) so a retried request is not charged twice")
            }
            let body = try await JSONBody.decode(PaymentRequest.self, from: request)
            do {
                let result = try await processor.submit(body, idempotencyKey: key)
                var response = try JSONBody.response(result.record, status: result.created ? .created : .ok)
                if !result.created { response.headers[HTTPField.Name("Idempotent-Replayed")!] = "true" }
                return response
            } catch let error as SubmitError {
                switch error {
                case .invalid(let invalid): throw ServiceHTTPError.badRequest(invalid.description)
                case .idempotencyKeyReused: throw ServiceHTTPError(.unprocessableContent, code: "idempotency_key_reused", message: error.description)
                case .unavailable: throw ServiceHTTPError(.serviceUnavailable, code: "retry_later", message: error.description)
                }
            }
        }
        router.get("/api/v1/payments/:id") { _, context -> Response in
            try Caller.require(.paymentsRead)
            let id = try context.parameters.require("id")
            try TextField.check("payment_id", id, maxBytes: 255)
            guard let record = try await store.fetch(paymentID: id) else {
                throw ServiceHTTPError.notFound("no payment '\(id)'")
            }
            return try JSONBody.response(record)
        }
        router.post("/api/v1/payments/statuses") { request, _ -> Response in
            try Caller.require(.paymentsRead)
            let body = try await JSONBody.decode(StatusesBody.self, from: request, limit: 512 << 10)
            guard (1...StatusesBody.maximumIDs).contains(body.paymentIDs.count) else {
                throw ServiceHTTPError.badRequest("field 'payment_ids' must hold 1 to \(StatusesBody.maximumIDs) ids, got \(body.paymentIDs.count); split a longer list into several requests")
            }
            for (index, id) in body.paymentIDs.enumerated() { try TextField.check("payment_ids[\(index)]", id, maxBytes: 255) }
            let found = try await store.statuses(of: body.paymentIDs)
            let missing = body.paymentIDs.filter { found[$0] == nil }
            return try JSONBody.response(StatusesReply(statuses: found.mapValues(\.rawValue), missing: missing))
        }
        router.get("/api/v1/reviews") { request, _ -> Response in
            try Caller.require(.reviewsRead)
            let limit = request.uri.queryParameters.get("limit", as: Int.self) ?? 100
            guard (1...1000).contains(limit) else { throw ServiceHTTPError.badRequest("limit must be 1 to 1000") }
            return try JSONBody.response(["reviews": try await store.reviewQueue(limit: limit)])
        }
        router.post("/api/v1/payments/:id/review") { request, context -> Response in
            let reviewer = try Caller.require(.reviewsResolve).subject
            let id = try context.parameters.require("id")
            try TextField.check("payment_id", id, maxBytes: 255)
            let body = try await JSONBody.decode(ReviewBody.self, from: request)
            // The reviewer is who authenticated. A body naming someone else is refused rather
            // than ignored, so a client that meant to act for another person learns it cannot.
            if let claimed = body.reviewer, claimed != reviewer {
                throw ServiceHTTPError(.forbidden, code: "reviewer_not_caller",
                                       message: "field 'reviewer' is '\(claimed)' but this credential is '\(reviewer)'; a review is recorded as resolved by the credential that sends it, so omit reviewer or send your own")
            }
            try TextField.check("reviewer", reviewer)
            if let note = body.note, let problem = TextField.nulProblem(note) { throw ServiceHTTPError.badRequest("field 'note' \(problem)") }
            guard let resolution = ReviewOutcome.Resolution(rawValue: body.decision) else {
                throw ServiceHTTPError.badRequest("field 'decision' must be approve or decline, got '\(body.decision)'")
            }
            let outcome = ReviewOutcome(paymentID: id, resolution: resolution, reviewer: reviewer, note: body.note, resolvedAt: clock())
            guard let record = try await store.resolveReview(
                id, resolution: resolution, reviewer: reviewer, note: body.note,
                outcome: OutgoingRecord(topic: reviewsTopic, key: id, value: outcome.encoded())) else {
                guard let existing = try await store.fetch(paymentID: id) else { throw ServiceHTTPError.notFound("no payment '\(id)'") }
                throw ServiceHTTPError(.conflict, code: "not_in_review",
                                       message: "payment '\(id)' is \(existing.status.rawValue), not in_review; only payments in the review queue can be resolved")
            }
            return try JSONBody.response(record)
        }
    }

    struct StatusesBody: Decodable {
        /// As many as a poller needs per round trip, few enough that one query and one answer stay small.
        static let maximumIDs = 1_000
        var paymentIDs: [String]
        enum CodingKeys: String, CodingKey { case paymentIDs = "payment_ids" }
    }

    /// Also what `TrafficRunner` reads back.
    struct StatusesReply: Codable {
        var statuses: [String: String]
        /// Asked-for ids the service does not hold, in the order asked.
        var missing: [String]
    }

    struct ReviewBody: Decodable {
        var decision: String
        /// Optional: the caller's subject is the reviewer; if sent, it must be that subject.
        var reviewer: String?
        var note: String?
    }
}
