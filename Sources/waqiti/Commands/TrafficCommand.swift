import ArgumentParser
import FraudCore
import Foundation
import Services

struct TrafficCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "traffic",
        abstract: "Send deterministic payments through the payment API and report throughput, outcomes and reconciliation.",
        discussion: """
            Funds every account through the wallet API, submits the payments (with a share of them sent \
            twice under the same Idempotency-Key), waits for every decision, and prints a closing summary.
            Acceptance run: waqiti traffic --payments 20000 --duplicate-rate 0.01
            """)

    @Option(help: "Distinct payments to submit.") var payments = 2_000
    @Option(help: "Share of payments submitted twice with the same Idempotency-Key.") var duplicateRate = 0.01
    @Option(help: "Accounts (wallets) the payments are spread over.") var accounts = 200
    @Option(help: "Requests in flight.") var concurrency = 32
    @Option(help: "Seed of the deterministic plan.") var seed: UInt64 = 42
    @Option(help: "Seconds to wait for the last decisions.") var decisionTimeout = 120
    @Option(help: "Payment service base URL.") var paymentURL = "http://127.0.0.1:8081"
    @Option(help: "Wallet service base URL.") var walletURL = "http://127.0.0.1:8082"
    @Option(help: "Reconciliation service base URL.") var reconciliationURL = "http://127.0.0.1:8084"
    @Flag(help: "Print the summary as JSON.") var json = false

    func validate() throws {
        guard payments > 0, accounts > 0, concurrency > 0 else { throw ValidationError("--payments, --accounts and --concurrency must be positive") }
        guard (0...0.5).contains(duplicateRate) else { throw ValidationError("--duplicate-rate must be between 0 and 0.5") }
    }

    func run() async throws {
        let runID = "\(seed)-\(Int(Date().timeIntervalSince1970))"
        let plan = TrafficPlan(payments: payments, accounts: accounts, duplicateRate: duplicateRate, seed: seed,
                               startTime: EventTime(millisecondsSinceEpoch: Int64(Date().timeIntervalSince1970 * 1000)))
        let runner = TrafficRunner(
            endpoints: .init(payment: paymentURL, wallet: walletURL, reconciliation: reconciliationURL,
                             apiKey: ProcessInfo.processInfo.environment["WAQITI_API_KEYS"]?.split(separator: ",").first.map(String.init)),
            concurrency: concurrency)
        if !json { print("funding \(accounts) wallets with \(Money(minorUnits: plan.fundingPerAccount, currency: .usd)) each") }
        try await runner.fund(plan, runID: runID)
        let quiet = json
        var (summary, ids) = try await runner.submit(plan) { sent, seconds in
            if !quiet { print(String(format: "sent %6d / %d   %7.1f payments/s", sent, plan.submissions.count, Double(sent) / seconds)) }
        }
        if !json { print("submitted \(summary.submitted) requests in \(String(format: "%.1f", summary.seconds)) s; waiting for decisions") }
        try await runner.awaitDecisions(ids, into: &summary, timeout: .seconds(decisionTimeout))
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            print(String(decoding: try encoder.encode(summary), as: UTF8.self))
        } else {
            print("""
                payments:         \(ids.count) distinct, \(summary.submitted) requests, \(summary.duplicatesReplayed) duplicates answered from the idempotency store, \(summary.rejected) rejected
                throughput:       \(String(format: "%.1f", summary.paymentsPerSecond)) requests/s
                outcomes:         \(summary.statuses.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
                undecided:        \(summary.undecided)
                decision p99:     \(summary.decisionLatencyP99Seconds.map { "≤ \($0) s (histogram bucket)" } ?? "n/a")
                reconciliation:   \(summary.reconciliationBreaks.map { "\($0) breaks" } ?? "not reachable")
                """)
        }
        if summary.undecided > 0 || summary.rejected > 0 || (summary.reconciliationBreaks ?? 0) > 0 { throw ExitCode(1) }
    }
}
