import Foundation
import FraudCore
import Kafka

/// What the live engine must agree with: `waqiti replay`'s decisions for the same file of
/// simulated payments, through the same rules (the offline path shares the engine's code).
///
/// The rules read only windows keyed by `account_id`, the Kafka message key: every event of an
/// account then reaches one consumer in its partition's order, whichever instance owns the
/// partition, so the result cannot depend on how partitions interleave, how many engines share
/// the group, or where a crash cut a batch. The always-true shadow rule puts those windows'
/// values on every decision, so comparing decisions compares every event's features: a window
/// that counted a redelivered payment twice shows up as a count or sum above the oracle's.
struct DecisionOracle {
    static let rules = """
    version "process-oracle-1"
    shadow rule windows: review if count(account_id, 1h) >= 1 and sum(amount_minor, account_id, 24h) >= 0 and distinct(merchant_id, account_id, 1h) >= 1
    rule burst: decline +50 if count(account_id, 10m) >= 4
    rule spend: review +20 if sum(amount_usd, account_id, 1h) > 1500
    """

    /// Replay decisions by payment id, normalised (see `normalized`).
    let decisions: [String: Decision]
    /// Lines in the events file (duplicates included).
    let lines: Int

    /// Reads `waqiti replay --decisions-out` output.
    init(decisionsFile: String, lines: Int) throws {
        let decoder = DecisionDecoder()
        var decisions: [String: Decision] = [:]
        let text = try String(contentsOfFile: decisionsFile, encoding: .utf8)
        for line in text.split(separator: "\n") where !line.isEmpty {
            let decision = try Array(line.utf8).withUnsafeBufferPointer { try decoder.decode($0) }
            decisions[decision.paymentID] = Self.normalized(decision)
        }
        self.decisions = decisions
        self.lines = lines
    }

    /// A decision without what legitimately differs between a live and a replayed decision:
    /// when it was made and how long it took.
    static func normalized(_ decision: Decision) -> Decision {
        var decision = decision
        decision.decidedAt = decision.eventTime
        decision.latencyMicros = 0
        return decision
    }

    /// How the published decisions differ from the oracle; every list is empty when they agree.
    struct Comparison {
        var missing: [String] = []
        var unexpected: [String] = []
        /// Payments published more than once with decisions that differ beyond timing.
        var inconsistentCopies: [String] = []
        /// Payments whose decision (outcome, points, reasons with their window values) differs from the replay's.
        var differing: [String] = []
        /// How many of `differing` were decided on local windows (`features_degraded`): Redis
        /// failed or timed out for their batch.
        var degradedDiffering = 0
        /// The first difference, expected then published, to tell a wrong window from a wrong flag.
        var firstDifference: String?
        var published = 0

        var summary: String {
            "missing \(missing.count) \(missing.prefix(3)), unexpected \(unexpected.count) \(unexpected.prefix(3)), "
                + "inconsistent copies \(inconsistentCopies.count) \(inconsistentCopies.prefix(3)), differing from replay \(differing.count) \(differing.prefix(3))"
                + " (\(degradedDiffering) of them features_degraded)" + (firstDifference.map { "; first: \($0)" } ?? "")
        }
    }

    func compare(_ published: PublishedDecisions) throws -> Comparison {
        var comparison = Comparison(published: published.total)
        let decoder = DecisionDecoder()
        for (paymentID, copies) in published.byPayment {
            guard let expected = decisions[paymentID] else {
                comparison.unexpected.append(paymentID)
                continue
            }
            let decoded = try copies.map { copy in try copy.withUnsafeBufferPointer { try decoder.decode($0) } }.map(Self.normalized)
            if Set(decoded).count > 1 { comparison.inconsistentCopies.append(paymentID) }
            if decoded[0] != expected {
                comparison.differing.append(paymentID)
                if decoded[0].featuresDegraded { comparison.degradedDiffering += 1 }
                if comparison.firstDifference == nil { comparison.firstDifference = "expected \(expected), published \(decoded[0])" }
            }
        }
        comparison.missing = decisions.keys.filter { published.byPayment[$0] == nil }.sorted()
        comparison.unexpected.sort()
        comparison.inconsistentCopies.sort()
        comparison.differing.sort()
        return comparison
    }
}

/// Every decision a topic carried, by payment id (message key), copies included.
struct PublishedDecisions {
    var byPayment: [String: [[UInt8]]] = [:]
    var total = 0

    /// Reads every partition of `topic` from the beginning until each of `expected` payments has a
    /// decision and nothing new arrived for `quiet` (late redeliveries), or `deadline` passes.
    static func read(topic: String, partitions: Int32, brokers: String, expected: Set<String>,
                     quiet: Duration = .seconds(2), deadline: ContinuousClock.Instant) throws -> PublishedDecisions {
        let consumer = try KafkaConsumer(configuration: KafkaConsumerConfiguration(
            client: KafkaClientConfiguration(brokers: brokers, clientID: "waqiti-process-tests"), groupID: nil))
        defer { consumer.close() }
        try consumer.assign((0..<partitions).map { KafkaPartitionRange(topic: topic, partition: $0, start: .beginning) })
        var published = PublishedDecisions()
        var decided = 0
        var lastArrival = ContinuousClock.now
        while ContinuousClock.now < deadline {
            let batch = try consumer.poll(maxMessages: 5_000, timeout: .milliseconds(200))
            for message in batch.messages {
                let paymentID = String(decoding: message.key ?? [], as: UTF8.self)
                if published.byPayment[paymentID] == nil, expected.contains(paymentID) { decided += 1 }
                published.byPayment[paymentID, default: []].append(message.value)
                published.total += 1
                lastArrival = .now
            }
            if decided == expected.count, ContinuousClock.now - lastArrival >= quiet { break }
        }
        return published
    }
}
