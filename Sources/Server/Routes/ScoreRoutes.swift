import Engine
import Features
import FraudCore
import Hummingbird
import NIOCore

/// `POST /v1/score` and `POST /v1/score/batch`: the HTTP face of the same `DecisionEngine` the
/// Kafka pipeline uses. A scored event updates the windows like a streamed one unless
/// `?dry_run=true`. An event dated further ahead of this instance's clock than
/// `features.max_clock_skew` is refused (400) unless it is a dry run, which changes no window.
/// A dry run needs the scope `score`; update mode `score:update`, since it plants events in the
/// windows and decisions in the cache that later events of the same payment_id are answered with.
/// A payment_id already decided for another event is refused (409 `payment_id_reused`), not
/// answered with that event's decision: the client would apply it to a payment nobody scored.
struct ScoreRoutes<Context: RequestContext>: Sendable {
    let engine: DecisionEngine
    let decoder: EventDecoder
    let futureGuard: FutureEventGuard
    let encoder: DecisionEncoder
    let maxRequestBytes: Int
    let maxBatchEvents: Int

    func register(on router: Router<Context>) {
        router.post("/v1/score") { request, context in try await score(request, context: context) }
        router.post("/v1/score/batch") { request, context in try await scoreBatch(request, context: context) }
    }

    private func score(_ request: Request, context: Context) async throws -> Response {
        let receivedAt = ContinuousClock.now
        let mode = try mode(of: request)
        let body = try await collectBody(request)
        let event: PaymentEvent
        do {
            event = try body.withUnsafeReadableBytes { try decoder.decode(UnsafeBufferPointer(start: $0.baseAddress?.assumingMemoryBound(to: UInt8.self), count: $0.count)) }
        } catch let error as EventDecodingError {
            throw Self.invalidEvent(error, line: nil)
        }
        try checkTimes([event], mode: mode, numbered: false)
        let decided = try await engine.decideReportingReuses([event], mode: mode, receivedAt: receivedAt)
        try Self.refuseReusedIDs([event], decided, numbered: false)
        return .json(bytes: encoder.encode(decided.decisions[0]))
    }

    /// The body is a JSON array of events (answered with an array of decisions) or JSON Lines
    /// (answered with JSON Lines), decisions in request order. One bad event rejects the batch,
    /// naming its position, so nothing is half-applied.
    private func scoreBatch(_ request: Request, context: Context) async throws -> Response {
        let receivedAt = ContinuousClock.now
        let mode = try mode(of: request)
        let body = try await collectBody(request)
        let bytes = body.readableBytesView
        let framing = BatchFraming.detect(bytes)
        let items: [Range<Int>]
        switch framing.split(Array(bytes)) {
        case .success(let ranges): items = ranges
        case .failure(let message): throw APIError(.badRequest, code: "invalid_batch", message: message)
        }
        guard items.count <= maxBatchEvents else {
            throw APIError(.contentTooLarge, code: "batch_too_large", message: "\(items.count) events in one batch; the limit is \(maxBatchEvents)")
        }
        guard !items.isEmpty else { throw APIError(.badRequest, code: "invalid_batch", message: "the batch has no events") }
        let all = Array(bytes)
        var events: [PaymentEvent] = []
        events.reserveCapacity(items.count)
        for (position, range) in items.enumerated() {
            do {
                events.append(try all[range].withUnsafeBufferPointer { try decoder.decode($0) })
            } catch let error as EventDecodingError {
                throw Self.invalidEvent(error, line: position + 1)
            }
        }
        try checkTimes(events, mode: mode, numbered: true)
        let decided = try await engine.decideReportingReuses(events, mode: mode, receivedAt: receivedAt)
        try Self.refuseReusedIDs(events, decided, numbered: true)
        let decisions = decided.decisions
        var out: [UInt8] = []
        out.reserveCapacity(decisions.count * 512)
        switch framing {
        case .array:
            out.append(UInt8(ascii: "["))
            for (index, decision) in decisions.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                out += encoder.encode(decision)
            }
            out.append(UInt8(ascii: "]"))
            return .json(bytes: out)
        case .lines:
            for decision in decisions {
                out += encoder.encode(decision)
                out.append(UInt8(ascii: "\n"))
            }
            return .json(bytes: out, contentType: "application/x-ndjson")
        }
    }

    /// Refuses the request if an event that would enter the windows is dated too far ahead.
    private func checkTimes(_ events: [PaymentEvent], mode: StoreMode, numbered: Bool) throws {
        guard mode == .update else { return }
        let latest = futureGuard.latestAccepted()
        for (position, event) in events.enumerated() {
            if let problem = futureGuard.problem(event, latestAccepted: latest) {
                throw APIError(.badRequest, code: "invalid_event", message: (numbered ? "event \(position + 1): " : "") + problem, field: "occurred_at")
            }
        }
    }

    /// The body, or 413 `request_too_large`: at once when `Content-Length` says it is too large,
    /// otherwise (a chunked body, which has no length) as soon as more than the limit has arrived.
    private func collectBody(_ request: Request) async throws -> ByteBuffer {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > maxRequestBytes {
            throw APIError.tooLarge(limit: maxRequestBytes)
        }
        var request = request
        do {
            return try await request.collectBody(upTo: maxRequestBytes)
        } catch is NIOTooManyBytesError {
            // What `collect(upTo:)` throws; uncaught, Hummingbird answered a bare 413 with no body.
            throw APIError.tooLarge(limit: maxRequestBytes)
        }
    }

    /// The request's mode, once the caller is known to hold its scope (checked before the body
    /// is read, so a caller without it learns nothing about its events' validity).
    private func mode(of request: Request) throws -> StoreMode {
        let mode: StoreMode
        switch request.uri.queryParameters.get("dry_run") {
        case nil, "false": mode = .update
        case "true": mode = .readOnly
        case let other?: throw APIError(.badRequest, code: "invalid_parameter", message: "dry_run must be true or false, got \"\(other)\"", field: "dry_run")
        }
        try Caller.require(mode == .update ? .scoreUpdate : .score)
        return mode
    }

    /// 409 `payment_id_reused` when the engine answered an event with the decision made for another
    /// event under its payment_id (`DecidedBatch.reused`; the engine has counted and logged it):
    /// as an idempotency key, a payment_id sent again must carry the same payment. A true retry
    /// (the same event) gets its decision again. In a batch the other events are decided and
    /// remembered as usual, so sending them again without the refused one returns the same
    /// decisions and changes no window.
    static func refuseReusedIDs(_ events: [PaymentEvent], _ decided: DecidedBatch, numbered: Bool) throws {
        guard let index = decided.reused.first else { return }
        var message = numbered ? "event \(index + 1): " : ""
        message += decided.reuseExplanation(events[index], at: index)
        if numbered {
            if decided.reused.count > 1 { message += " (\(decided.reused.count - 1) more event(s) of this batch likewise)" }
            message += "; the other events were decided: send them again without it to read their decisions"
        }
        throw APIError(.conflict, code: "payment_id_reused", message: message, field: "payment_id")
    }

    static func invalidEvent(_ error: EventDecodingError, line: Int?) -> APIError {
        let prefix = line.map { "event \($0): " } ?? ""
        return APIError(.badRequest, code: "invalid_event", message: prefix + error.description, field: error.field)
    }
}
