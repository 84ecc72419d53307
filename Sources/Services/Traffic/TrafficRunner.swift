import FraudCore
import Foundation
import Synchronization
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Drives a `TrafficPlan` through the payment API (funding the wallets first), waits for the
/// decisions, and summarizes: payments/s, outcomes, duplicates answered, payment→decision p99,
/// and the reconciliation report.
public struct TrafficRunner: Sendable {
    public struct Endpoints: Sendable {
        public var payment: String
        public var wallet: String
        public var reconciliation: String
        public var apiKey: String?

        public init(payment: String, wallet: String, reconciliation: String, apiKey: String?) {
            self.payment = payment
            self.wallet = wallet
            self.reconciliation = reconciliation
            self.apiKey = apiKey
        }
    }

    public struct Summary: Sendable, Codable {
        public var submitted = 0
        /// Payments the plan holds, and how many of its requests repeat an earlier key.
        public var distinctPayments = 0
        public var duplicatesSent = 0
        public var duplicatesReplayed = 0
        public var rejected = 0
        /// Requests sent again under the same Idempotency-Key after a 503 or a dropped connection.
        public var retried = 0
        public var seconds = 0.0
        public var paymentsPerSecond = 0.0
        /// Final status → count, over distinct payments.
        public var statuses: [String: Int] = [:]
        public var undecided = 0
        /// Payment published → decision applied, 99th percentile, as a histogram bucket bound.
        public var decisionLatencyP99: HistogramPercentile?
        public var reconciliationBreaks: Int?
        /// The reconciliation service's report as it answered, when it was reachable.
        public var reconciliation: ReconciliationReport?
    }

    /// What the live line shows, read from the payment service's /metrics.
    public struct LiveStatus: Sendable {
        public var sent: Int
        public var seconds: Double
        /// Decisions applied by the payment service, by the status they moved payments to.
        public var decided: [String: Int]
        public var decisionLatencyP99: HistogramPercentile?
    }

    let endpoints: Endpoints
    let concurrency: Int
    let session: URLSession
    /// Each request's bound, for the whole exchange; a payment not answered in time is sent again
    /// with its Idempotency-Key, any other request fails the run naming it.
    static let requestLimit: Duration = .seconds(60)
    private let progress = SubmissionProgress()

    public init(endpoints: Endpoints, concurrency: Int) {
        self.endpoints = endpoints
        self.concurrency = concurrency
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpMaximumConnectionsPerHost = concurrency + 2
        configuration.timeoutIntervalForRequest = 30
        configuration.timeoutIntervalForResource = Self.seconds(Self.requestLimit)
        self.session = URLSession(configuration: configuration)
    }

    /// Tops up every wallet of the plan (idempotent by a reference derived from wallet and currency).
    public func fund(_ plan: TrafficPlan, runID: String) async throws {
        try await concurrently(plan.funding) { funding in
            let code = funding.amount.currency.code
            let body = #"{"amount_minor":\#(funding.amount.minorUnits),"currency":"\#(code)","reference":"traffic-\#(runID)-\#(funding.walletID)-\#(code)"}"#
            let (status, data) = try await send("POST", endpoints.wallet + "/api/v1/wallets/\(funding.walletID)/topups", body: Data(body.utf8))
            guard status == 201 else { throw TrafficError(message: "top-up of \(funding.walletID) answered \(status): \(String(decoding: data, as: UTF8.self))") }
        } collect: { _ in }
    }

    /// Sends every submission with `concurrency` requests in flight.
    public func submit(_ plan: TrafficPlan) async throws -> (summary: Summary, paymentIDs: [String]) {
        var summary = Summary()
        var paymentIDs: Set<String> = []
        let started = progress.start()
        try await concurrently(plan.submissions) { submission in
            let body = try JSONEncoder().encode(submission.request)
            let (status, data, retries) = try await sendRetrying(body, idempotencyKey: submission.idempotencyKey)
            let id = (try? JSONSerialization.jsonObject(with: data) as? [String: Any])?["payment_id"] as? String
            return (status, retries, id)
        } collect: { result in
            let (status, retries, id) = result
            summary.submitted += 1
            progress.answered()
            summary.retried += retries
            switch status {
            case 201: break
            case 200: summary.duplicatesReplayed += 1
            default: summary.rejected += 1
            }
            if let id { paymentIDs.insert(id) }
        }
        summary.distinctPayments = paymentIDs.count
        summary.duplicatesSent = plan.submissions.count { $0.isDuplicate }
        summary.seconds = Self.seconds(ContinuousClock.now - started)
        summary.paymentsPerSecond = Double(summary.submitted) / max(summary.seconds, 0.001)
        return (summary, paymentIDs.sorted())
    }

    /// Requests sent so far, decisions by outcome and the latency p99, for the live line.
    public func liveStatus() async -> LiveStatus {
        let (sent, started) = progress.snapshot()
        var status = LiveStatus(sent: sent, seconds: started.map { Self.seconds(ContinuousClock.now - $0) } ?? 0, decided: [:])
        if let (code, data) = try? await send("GET", endpoints.payment + "/metrics"), code == 200 {
            let text = String(decoding: data, as: UTF8.self)
            status.decided = Self.labelledCounter(prometheus: text, name: "waqiti_payment_decisions_consumed_total", label: "status")
            status.decisionLatencyP99 = Self.p99(prometheus: text, histogram: "waqiti_payment_decision_latency_seconds")
        }
        return status
    }

    /// Polls the payments (1,000 per request, `concurrency` requests at a time) until none is
    /// `received`/`pending` or `timeout` passes; fills the outcome counts, the latency p99 and
    /// the reconciliation report.
    public func awaitDecisions(_ ids: [String], into summary: inout Summary, timeout: Duration) async throws {
        var open = ids
        var statuses: [String: Int] = [:]
        let deadline = ContinuousClock.now + timeout
        while !open.isEmpty && ContinuousClock.now < deadline {
            let states = try await self.states(of: open)
            open = []
            for (id, state) in states {
                if state == "received" || state == "pending" { open.append(id) } else { statuses[state, default: 0] += 1 }
            }
            if !open.isEmpty { try await Task.sleep(for: .milliseconds(500)) }
        }
        summary.statuses = statuses
        summary.undecided = open.count
        summary.decisionLatencyP99 = await liveStatus().decisionLatencyP99
        if let (status, data) = try? await send("GET", endpoints.reconciliation + "/api/v1/reconciliation/report"), status == 200,
           let report = try? JSONDecoder().decode(ReconciliationReport.self, from: data) {
            summary.reconciliation = report
            summary.reconciliationBreaks = report.totalBreaks
        }
    }

    /// Each payment's status, from the payment service's batch lookup (a request per 1,000 ids,
    /// not per payment: 20 requests a round for the quick start's 20,000 payments).
    private func states(of ids: [String]) async throws -> [(String, String)] {
        let perLookup = PaymentRoutes.StatusesBody.maximumIDs
        let chunks = stride(from: 0, to: ids.count, by: perLookup).map { Array(ids[$0..<min($0 + perLookup, ids.count)]) }
        var states: [(String, String)] = []
        states.reserveCapacity(ids.count)
        try await concurrently(chunks) { chunk in
            let body = try JSONEncoder().encode(["payment_ids": chunk])
            let (status, data) = try await send("POST", endpoints.payment + "/api/v1/payments/statuses", body: body)
            guard status == 200, let reply = try? JSONDecoder().decode(PaymentRoutes.StatusesReply.self, from: data) else {
                throw TrafficError(message: "payment status lookup answered \(status): \(String(decoding: data.prefix(500), as: UTF8.self))")
            }
            return chunk.map { ($0, reply.statuses[$0] ?? "missing") }
        } collect: { states.append(contentsOf: $0) }
        return states
    }

    /// Runs `body` over `items` with at most `concurrency` in flight, handing each result to
    /// `collect` as it completes.
    private func concurrently<Item: Sendable, Result: Sendable>(
        _ items: [Item], _ body: @escaping @Sendable (Item) async throws -> Result, collect: (Result) -> Void
    ) async throws {
        try await withThrowingTaskGroup(of: Result.self) { group in
            var next = items.startIndex
            func launch() {
                let item = items[next]
                next += 1
                group.addTask { try await body(item) }
            }
            while next < min(concurrency, items.count) { launch() }
            while let result = try await group.next() {
                collect(result)
                if next < items.count { launch() }
            }
        }
    }

    /// Submits a payment as a careful client does: a 503 (`retry_later`) or a dropped connection
    /// is retried under the same Idempotency-Key, which resumes the payment instead of paying twice.
    private func sendRetrying(_ body: Data, idempotencyKey: String) async throws -> (status: Int, data: Data, retries: Int) {
        var retries = 0
        var delay = Duration.milliseconds(100)
        let deadline = ContinuousClock.now + .seconds(120)
        while true {
            do {
                let (status, data) = try await send("POST", endpoints.payment + "/api/v1/payments", body: body,
                                                    headers: ["Idempotency-Key": idempotencyKey])
                if status != 503 || ContinuousClock.now >= deadline { return (status, data, retries) }
            } catch where ContinuousClock.now < deadline {
                // The payment service itself is unreachable: the same key is safe to send again.
            }
            retries += 1
            try await Task.sleep(for: delay)
            delay = min(delay * 2, .seconds(2))
        }
    }

    /// `name{label="value"} count` lines of one counter, as value → count.
    static func labelledCounter(prometheus text: String, name: String, label: String) -> [String: Int] {
        var counts: [String: Int] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix(name + "{") {
            guard let start = line.range(of: label + "=\""), let close = line[start.upperBound...].firstIndex(of: "\""),
                  let count = line.split(separator: " ").last.flatMap({ Double($0) }) else { continue }
            counts[String(line[start.upperBound..<close]), default: 0] += Int(count)
        }
        return counts
    }

    /// The smallest bucket bound whose cumulative count reaches 99% of the histogram's count.
    static func p99(prometheus text: String, histogram name: String) -> HistogramPercentile? {
        var buckets: [(bound: Double, count: Double)] = []
        for line in text.split(separator: "\n") where line.hasPrefix(name + "_bucket{") {
            guard let le = line.range(of: "le=\""), let close = line[le.upperBound...].firstIndex(of: "\""),
                  let count = line.split(separator: " ").last.flatMap({ Double($0) }) else { continue }
            let bound = line[le.upperBound..<close] == "+Inf" ? Double.infinity : Double(line[le.upperBound..<close]) ?? .infinity
            buckets.append((bound, count))
        }
        guard let total = buckets.map(\.count).max(), total > 0 else { return nil }
        buckets.sort { $0.bound < $1.bound }
        guard let bucket = buckets.first(where: { $0.count >= total * 0.99 }) else { return nil }
        if bucket.bound.isFinite { return HistogramPercentile(seconds: bucket.bound, beyondLargestBucket: false) }
        // In the +Inf bucket: all that is known is that it exceeds the largest finite bound.
        return HistogramPercentile(seconds: buckets.last { $0.bound.isFinite }?.bound ?? 0, beyondLargestBucket: true)
    }

    private func send(_ method: String, _ url: String, body: Data? = nil, headers: [String: String] = [:]) async throws -> (Int, Data) {
        var request = URLRequest(url: URL(string: url)!)
        request.httpMethod = method
        request.httpBody = body
        if body != nil { request.setValue("application/json", forHTTPHeaderField: "Content-Type") }
        if let key = endpoints.apiKey { request.setValue(key, forHTTPHeaderField: "X-API-Key") }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let (data, response): (Data, URLResponse)
        do { (data, response) = try await session.data(for: request, within: Self.requestLimit) } catch let timeout as ExchangeTimedOut {
            throw TrafficError(message: "\(method) \(url): \(timeout.localizedDescription)")
        }
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, data)
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

/// Requests answered so far and when sending started, shared with the live line.
final class SubmissionProgress: Sendable {
    private let state = Mutex<(sent: Int, started: ContinuousClock.Instant?)>((0, nil))

    func start() -> ContinuousClock.Instant {
        state.withLock { state in
            let now = ContinuousClock.now
            state = (0, now)
            return now
        }
    }

    func answered() { state.withLock { $0.sent += 1 } }

    func snapshot() -> (sent: Int, started: ContinuousClock.Instant?) { state.withLock { $0 } }
}

public struct TrafficError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
