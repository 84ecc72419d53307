import FraudCore
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Drives a `TrafficPlan` through the payment API (funding the wallets first), waits for the
/// decisions, and summarizes: payments/s, outcomes, duplicates answered, payment→decision p99.
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
        public var duplicatesReplayed = 0
        public var rejected = 0
        public var seconds = 0.0
        public var paymentsPerSecond = 0.0
        /// Final status → count, over distinct payments.
        public var statuses: [String: Int] = [:]
        public var undecided = 0
        /// Upper bound of the histogram bucket holding the 99th percentile, in seconds.
        public var decisionLatencyP99Seconds: Double?
        public var reconciliationBreaks: Int?
    }

    let endpoints: Endpoints
    let concurrency: Int
    let session: URLSession

    public init(endpoints: Endpoints, concurrency: Int) {
        self.endpoints = endpoints
        self.concurrency = concurrency
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpMaximumConnectionsPerHost = concurrency
        configuration.timeoutIntervalForRequest = 30
        self.session = URLSession(configuration: configuration)
    }

    /// Funds every account of the plan (idempotent by a reference derived from the account).
    public func fund(_ plan: TrafficPlan, runID: String) async throws {
        for account in plan.accounts {
            let body = #"{"amount_minor":\#(plan.fundingPerAccount),"currency":"USD","reference":"traffic-\#(runID)-\#(account)"}"#
            let (status, data) = try await send("POST", endpoints.wallet + "/api/v1/wallets/\(account)/topups", body: Data(body.utf8))
            guard status == 201 else { throw TrafficError(message: "top-up of \(account) answered \(status): \(String(decoding: data, as: UTF8.self))") }
        }
    }

    /// Sends every submission with `concurrency` in flight; `progress` is called about once a second.
    public func submit(_ plan: TrafficPlan, progress: @Sendable (Int, Double) -> Void) async throws -> (summary: Summary, paymentIDs: [String]) {
        var summary = Summary()
        var paymentIDs: Set<String> = []
        let start = ContinuousClock.now
        var lastReport = start
        try await withThrowingTaskGroup(of: (Int, Bool, String?).self) { group in
            var next = 0
            func launch() {
                let submission = plan.submissions[next]
                next += 1
                group.addTask {
                    let body = try JSONEncoder().encode(submission.request)
                    let (status, data) = try await send("POST", endpoints.payment + "/api/v1/payments", body: body,
                                                        headers: ["Idempotency-Key": submission.idempotencyKey])
                    let id = (try? JSONSerialization.jsonObject(with: data) as? [String: Any])?["payment_id"] as? String
                    return (status, submission.isDuplicate, id)
                }
            }
            while next < min(concurrency, plan.submissions.count) { launch() }
            while let (status, _, id) = try await group.next() {
                summary.submitted += 1
                switch status {
                case 201: break
                case 200: summary.duplicatesReplayed += 1
                default: summary.rejected += 1
                }
                if let id { paymentIDs.insert(id) }
                if next < plan.submissions.count { launch() }
                let now = ContinuousClock.now
                if now - lastReport >= .seconds(1) {
                    lastReport = now
                    progress(summary.submitted, Self.seconds(now - start))
                }
            }
        }
        summary.seconds = Self.seconds(ContinuousClock.now - start)
        summary.paymentsPerSecond = Double(summary.submitted) / max(summary.seconds, 0.001)
        return (summary, paymentIDs.sorted())
    }

    /// Polls the payments until none is `received`/`pending` or `timeout` passes; fills the
    /// outcome counts, the latency p99 and the reconciliation breaks.
    public func awaitDecisions(_ ids: [String], into summary: inout Summary, timeout: Duration) async throws {
        var open = ids
        var statuses: [String: Int] = [:]
        let deadline = ContinuousClock.now + timeout
        while !open.isEmpty && ContinuousClock.now < deadline {
            var stillOpen: [String] = []
            for id in open {
                let (status, data) = try await send("GET", endpoints.payment + "/api/v1/payments/\(id)")
                let state = status == 200 ? ((try? JSONSerialization.jsonObject(with: data) as? [String: Any])?["status"] as? String ?? "?") : "missing"
                if state == "received" || state == "pending" { stillOpen.append(id) } else { statuses[state, default: 0] += 1 }
            }
            open = stillOpen
            if !open.isEmpty { try await Task.sleep(for: .milliseconds(500)) }
        }
        summary.statuses = statuses
        summary.undecided = open.count
        let (_, metrics) = try await send("GET", endpoints.payment + "/metrics")
        summary.decisionLatencyP99Seconds = Self.p99(prometheus: String(decoding: metrics, as: UTF8.self),
                                                     histogram: "waqiti_payment_decision_latency_seconds")
        if let (status, data) = try? await send("GET", endpoints.reconciliation + "/api/v1/reconciliation/report"), status == 200 {
            summary.reconciliationBreaks = (try? JSONSerialization.jsonObject(with: data) as? [String: Any])?["total_breaks"] as? Int
        }
    }

    /// The smallest bucket bound whose cumulative count reaches 99% of the histogram's count.
    static func p99(prometheus text: String, histogram name: String) -> Double? {
        var buckets: [(bound: Double, count: Double)] = []
        for line in text.split(separator: "\n") where line.hasPrefix(name + "_bucket{") {
            guard let le = line.range(of: "le=\""), let close = line[le.upperBound...].firstIndex(of: "\""),
                  let count = line.split(separator: " ").last.flatMap({ Double($0) }) else { continue }
            let bound = line[le.upperBound..<close] == "+Inf" ? Double.infinity : Double(line[le.upperBound..<close]) ?? .infinity
            buckets.append((bound, count))
        }
        guard let total = buckets.map(\.count).max(), total > 0 else { return nil }
        return buckets.sorted { $0.bound < $1.bound }.first { $0.count >= total * 0.99 }?.bound
    }

    private func send(_ method: String, _ url: String, body: Data? = nil, headers: [String: String] = [:]) async throws -> (Int, Data) {
        var request = URLRequest(url: URL(string: url)!)
        request.httpMethod = method
        request.httpBody = body
        if body != nil { request.setValue("application/json", forHTTPHeaderField: "Content-Type") }
        if let key = endpoints.apiKey { request.setValue(key, forHTTPHeaderField: "X-API-Key") }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let (data, response) = try await session.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, data)
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

public struct TrafficError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
