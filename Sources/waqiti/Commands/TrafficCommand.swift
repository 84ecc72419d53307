import ArgumentParser
import Engine
import FraudCore
import Foundation
import Services

struct TrafficCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "traffic",
        abstract: "Send payments through the payment API and report throughput, outcomes and reconciliation.",
        discussion: """
            Funds every wallet through the wallet API, submits the payments (a deterministic plan, or \
            the events of a `waqiti simulate` file with --input), prints a live line every second \
            (payments/s, decisions by outcome, payment→decision p99), waits for every decision, and \
            prints a closing summary with the reconciliation report. Exits 1 when a payment is \
            rejected or undecided, or reconciliation reports a break.
            Acceptance run: waqiti traffic --payments 20000 --duplicate-rate 0.01
            """)

    @Option(help: "Distinct payments to submit (ignored with --input).") var payments = 2_000
    @Option(help: "Share of payments submitted twice with the same Idempotency-Key (ignored with --input).") var duplicateRate = 0.01
    @Option(help: "Accounts (wallets) the payments are spread over (ignored with --input).") var accounts = 200
    @Option(help: "JSON Lines of payment events (e.g. from waqiti simulate); payment_id becomes the Idempotency-Key.") var input: String?
    @Flag(help: ArgumentHelp(
        "With --input: send each event's occurred_at, the whole file moved to end a second before the run starts (order and spacing kept).",
        discussion: "Without it the payment service stamps each payment on arrival, and the file's days are squeezed into the minutes the requests take. The service must accept times that old: set payment.occurred_at_max_age (WAQITI_PAYMENT_OCCURRED_AT_MAX_AGE) to more than the file's span."))
    var keepTimes = false
    @Option(help: "Requests in flight.") var concurrency = 32
    @Option(help: "Seed of the deterministic plan.") var seed: UInt64 = 42
    @Option(help: "Seconds to wait for the last decisions.") var decisionTimeout = 120
    @Option(help: "Payment service base URL.") var paymentURL = "http://127.0.0.1:8081"
    @Option(help: "Wallet service base URL.") var walletURL = "http://127.0.0.1:8082"
    @Option(help: "Reconciliation service base URL.") var reconciliationURL = "http://127.0.0.1:8084"
    @Flag(help: "Print only the summary, as JSON.") var json = false

    func validate() throws {
        guard payments > 0, accounts > 0, concurrency > 0 else { throw ValidationError("--payments, --accounts and --concurrency must be positive") }
        guard (0...0.5).contains(duplicateRate) else { throw ValidationError("--duplicate-rate must be between 0 and 0.5") }
        guard !keepTimes || input != nil else { throw ValidationError("--keep-times needs --input: the generated plan has no times of its own") }
    }

    func run() async throws {
        let runID = "\(seed)-\(Int(Date().timeIntervalSince1970))"
        let end = keepTimes ? FraudCore.WallClock.now() - .seconds(1) : nil
        let plan = try input.map { TrafficPlan(events: try Self.readEvents($0), keepingTimes: end) }
            ?? TrafficPlan(payments: payments, accounts: accounts, duplicateRate: duplicateRate, seed: seed)
        let runner = TrafficRunner(
            endpoints: .init(payment: paymentURL, wallet: walletURL, reconciliation: reconciliationURL,
                             apiKey: try Self.apiKey(ProcessInfo.processInfo.environment["WAQITI_API_KEYS"])),
            concurrency: concurrency)
        if !json { print("funding \(plan.funding.count) wallet balances, then sending \(plan.submissions.count) requests") }
        try await runner.fund(plan, runID: runID)

        let live: Task<Void, Never>? = json ? nil : Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                if !Task.isCancelled { print(Self.liveLine(await runner.liveStatus(), total: plan.submissions.count)) }
            }
        }
        let (submitted, ids) = try await runner.submit(plan)
        var summary = submitted
        try await runner.awaitDecisions(ids, into: &summary, timeout: .seconds(decisionTimeout))
        live?.cancel()
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            print(String(decoding: try encoder.encode(summary), as: UTF8.self))
        } else {
            print(Self.closingSummary(summary))
        }
        if summary.undecided > 0 || summary.rejected > 0 || (summary.reconciliationBreaks ?? 0) > 0 { throw ExitCode(1) }
    }

    /// What the traffic's requests need: funding, submitting, polling, the live line, the report.
    static let scopes: [APIScope] = [.walletTopUp, .paymentsWrite, .paymentsRead, .metricsRead, .reconciliationRead]

    /// The key of the first `WAQITI_API_KEYS` entry with every scope the traffic needs; nil with
    /// no keys (the services then answer 401, which the run reports).
    static func apiKey(_ list: String?) throws -> String? {
        guard let list else { return nil }
        let keys: [APIKey]
        do { keys = try APIKey.parseList(list) } catch { throw ValidationError("WAQITI_API_KEYS: \(error)") }
        guard !keys.isEmpty else { return nil }
        guard let key = keys.first(where: { $0.covers(scopes) }) else {
            let needed = scopes.map(\.rawValue).joined(separator: "+")
            throw ValidationError("no WAQITI_API_KEYS entry has the scopes traffic needs; add one such as traffic:\(needed):<key> (the services must accept it too)")
        }
        return key.key
    }

    static func readEvents(_ path: String) throws -> [PaymentEvent] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CommandFailure("cannot read --input '\(path)'; create it with `waqiti simulate --out \(path)`")
        }
        var events: [PaymentEvent] = []
        for (index, line) in data.split(separator: UInt8(ascii: "\n")).enumerated() where !line.isEmpty {
            do { events.append(try EventDecoder().decode(Array(line))) } catch {
                throw CommandFailure("\(path):\(index + 1): \(error)")
            }
        }
        return events
    }

    static func liveLine(_ status: TrafficRunner.LiveStatus, total: Int) -> String {
        let decided = status.decided.filter { $0.value > 0 }.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
        let rate = String(format: "%7.1f", Double(status.sent) / max(status.seconds, 0.001))
        return String(format: "%6.1fs", status.seconds) + "  sent \(status.sent)/\(total)  \(rate) payments/s  decisions: "
            + (decided.isEmpty ? "none yet" : decided.joined(separator: ", "))
            + "  p99 " + (status.decisionLatencyP99.map(\.description) ?? "n/a")
    }

    static func closingSummary(_ summary: TrafficRunner.Summary) -> String {
        var lines = [
            "payments:         \(summary.distinctPayments) distinct, \(summary.submitted) requests (\(summary.duplicatesSent) duplicate submissions, \(summary.duplicatesReplayed) answered from the idempotency store), \(summary.rejected) rejected, \(summary.retried) retries after 503",
            "throughput:       \(String(format: "%.1f", summary.paymentsPerSecond)) requests/s over \(String(format: "%.1f", summary.seconds)) s",
            "outcomes:         \(summary.statuses.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))",
            "undecided:        \(summary.undecided)",
            "decision p99:     \(summary.decisionLatencyP99.map { "\($0) (payment published → decision applied, histogram bucket)" } ?? "n/a")",
        ]
        guard let report = summary.reconciliation else {
            lines.append("reconciliation:   not reachable")
            return lines.joined(separator: "\n")
        }
        lines.append("reconciliation:   \(report.totalBreaks) breaks over \(report.paymentsSeen) payments and \(report.decisionsSeen) decisions seen")
        for item in report.breaks {
            lines.append("  \(item.kind.rawValue.padding(toLength: 26, withPad: " ", startingAt: 0)) \(item.count)\(item.examples.isEmpty ? "" : "  e.g. \(item.examples.prefix(3).joined(separator: ", "))")")
        }
        for settlement in report.settlements {
            lines.append("  settled \(settlement.day) \(settlement.currency): \(settlement.captures) captures, \(Money(minorUnits: settlement.totalMinor, currency: Currency(settlement.currency) ?? .usd))")
        }
        return lines.joined(separator: "\n")
    }
}
