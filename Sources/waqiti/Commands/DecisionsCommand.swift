import ArgumentParser
import FraudCore
import Foundation
import Kafka

/// `waqiti decisions`: follows the `fraud-decisions` topic from the moment it starts and prints a
/// live line (decisions/s, outcomes, degraded count, engine latency) and a closing summary.
///
/// It reads in assign mode from each partition's current end, so it joins no consumer group and
/// never moves the offsets of the platform's own consumers. Decisions are counted once per
/// payment id: a redelivered decision is reported as such, not as a second payment.
struct DecisionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decisions",
        abstract: "Follow the decisions topic: live rate, outcomes, latency; stop after --expect payments."
    )

    @Option(help: "Kafka bootstrap servers (default: WAQITI_KAFKA_BROKERS, else 127.0.0.1:9092).")
    var brokers: String?

    @Option(help: "Topic to follow (default: WAQITI_KAFKA_DECISIONS_TOPIC, else fraud-decisions).")
    var topic: String?

    @Option(help: "Partitions of the topic (the local stack creates 6).")
    var partitions: Int32 = 6

    @Option(help: "Stop after decisions for this many distinct payments (0: run until --timeout or Ctrl-C).")
    var expect: Int = 0

    @Option(help: "Stop after this many seconds without reaching --expect; exit code 1 then.")
    var timeout: Int = 300

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let brokers = brokers ?? environment["WAQITI_KAFKA_BROKERS"] ?? "127.0.0.1:9092"
        let topic = topic ?? environment["WAQITI_KAFKA_DECISIONS_TOPIC"] ?? "fraud-decisions"
        let consumer = try KafkaConsumer(configuration: KafkaConsumerConfiguration(
            client: KafkaClientConfiguration(brokers: brokers, clientID: "waqiti-decisions"), groupID: nil))
        defer { consumer.close() }
        var ranges: [KafkaPartitionRange] = []
        for partition in 0..<partitions {
            let (_, high) = try consumer.watermarks(topic: topic, partition: partition)
            ranges.append(KafkaPartitionRange(topic: topic, partition: partition, start: .offset(high)))
        }
        try consumer.assign(ranges)
        print("following \(topic) at \(brokers) from its current end\(expect > 0 ? ", until \(expect) payments are decided" : "")")

        var tally = DecisionTally()
        let decoder = DecisionDecoder()
        let started = ContinuousClock.now
        let deadline = started + .seconds(timeout)
        var nextReport = started + .seconds(1)
        var lastCount = 0
        while expect == 0 || tally.distinctPayments < expect {
            if ContinuousClock.now > deadline { break }
            let batch = try consumer.poll(maxMessages: 5_000, timeout: .milliseconds(200))
            for message in batch.messages {
                do {
                    tally.add(try decoder.decode(message.value))
                } catch {
                    tally.undecodable += 1
                }
            }
            if ContinuousClock.now >= nextReport {
                print("  \(tally.line(perSecond: tally.distinctPayments - lastCount))")
                lastCount = tally.distinctPayments
                nextReport = nextReport + .seconds(1)
            }
        }
        let seconds = max((ContinuousClock.now - started).secondsDouble, 1e-9)
        print(tally.summary(seconds: seconds))
        if expect > 0, tally.distinctPayments < expect {
            print("timed out after \(timeout) s with \(tally.distinctPayments) of \(expect) payments decided")
            throw ExitCode.failure
        }
    }
}

/// Counts of what the decisions topic carried: outcomes per distinct payment, redeliveries,
/// degraded decisions, the engine's own latency distribution, and the most frequent reasons.
struct DecisionTally {
    private var outcomeByPayment: [String: Outcome] = [:]
    private(set) var outcomes: [Outcome: Int] = [:]
    private(set) var redelivered = 0
    private(set) var conflicting = 0
    private(set) var degraded = 0
    private var latencies: [Int64] = []
    private var reasonCounts: [String: Int] = [:]
    var undecodable = 0

    var distinctPayments: Int { outcomeByPayment.count }

    mutating func add(_ decision: Decision) {
        if let earlier = outcomeByPayment[decision.paymentID] {
            redelivered += 1
            if earlier != decision.outcome { conflicting += 1 }
            return
        }
        outcomeByPayment[decision.paymentID] = decision.outcome
        outcomes[decision.outcome, default: 0] += 1
        if decision.featuresDegraded { degraded += 1 }
        latencies.append(decision.latencyMicros)
        for case .rule(let reason) in decision.reasons where !reason.shadow {
            reasonCounts[reason.rule, default: 0] += 1
        }
    }

    func line(perSecond: Int) -> String {
        let mix = Outcome.allCases.map { "\($0.rawValue) \(outcomes[$0, default: 0])" }.joined(separator: ", ")
        return "decided \(distinctPayments) (\(perSecond)/s): \(mix); degraded \(degraded); engine latency p99 \(percentile(0.99)) µs"
    }

    func summary(seconds: Double) -> String {
        var lines = ["", "decisions: \(distinctPayments) payments in \(String(format: "%.1f", seconds)) s"]
        for outcome in Outcome.allCases {
            let count = outcomes[outcome, default: 0]
            let share = distinctPayments > 0 ? 100 * Double(count) / Double(distinctPayments) : 0
            lines.append("  \(outcome.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0)) \(count) (\(String(format: "%.2f", share))%)")
        }
        lines.append("  redelivered decisions: \(redelivered) (\(conflicting) with a different outcome)")
        lines.append("  degraded decisions: \(degraded); undecodable messages: \(undecodable)")
        lines.append("  engine latency (event received to decision): p50 \(percentile(0.50)) µs, p99 \(percentile(0.99)) µs, max \(percentile(1.0)) µs")
        let top = reasonCounts.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.prefix(8)
        if !top.isEmpty {
            lines.append("  most frequent rule reasons:")
            for (rule, count) in top { lines.append("    \(rule): \(count)") }
        }
        return lines.joined(separator: "\n")
    }

    private func percentile(_ p: Double) -> Int64 {
        guard !latencies.isEmpty else { return 0 }
        let sorted = latencies.sorted()
        return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded(.up)))]
    }
}
