import ArgumentParser
import FraudCore
import Foundation
import Kafka

/// `waqiti produce`: sends a JSON Lines file of payment events to the `payments` topic, keyed by
/// account id as the architecture's contract says, and waits for the broker to acknowledge each batch.
///
/// Valid lines are sent in the canonical encoding. A line that does not decode is sent byte for byte
/// (with no key), because
/// showing that the engine dead-letters bad input is part of what this tool is for; it is counted.
struct ProduceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "produce",
        abstract: "Send payment events (JSON Lines) to Kafka, keyed by account_id.",
        discussion: "Example: waqiti simulate --events 100000 --seed 7 --out - | waqiti produce --input -"
    )

    @Option(help: "JSON Lines file of payment events, or - for standard input.")
    var input: String = "-"

    @Option(help: "Kafka bootstrap servers (default: WAQITI_KAFKA_BROKERS, else 127.0.0.1:9092).")
    var brokers: String?

    @Option(help: "Topic to send to (default: WAQITI_KAFKA_PAYMENTS_TOPIC, else payments).")
    var topic: String?

    @Option(help: "Messages per acknowledged batch (also the read batch).")
    var batch: Int = 5_000

    @Option(help: "Send at most this many events per second (0: as fast as the broker acknowledges).")
    var rate: Int = 0

    func validate() throws {
        guard batch > 0 else { throw ValidationError("--batch must be positive, got \(batch)") }
        guard rate >= 0 else { throw ValidationError("--rate must be 0 (unlimited) or positive, got \(rate)") }
    }

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let brokers = brokers ?? environment["WAQITI_KAFKA_BROKERS"] ?? "127.0.0.1:9092"
        let topic = topic ?? environment["WAQITI_KAFKA_PAYMENTS_TOPIC"] ?? "payments"
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: KafkaClientConfiguration(brokers: brokers, clientID: "waqiti-produce")))
        let reader = try JSONLinesReader(path: input)
        let decoder = EventDecoder()
        let started = ContinuousClock.now
        var pending: [KafkaProducerMessage] = []
        pending.reserveCapacity(batch)
        var sent = 0
        var undecodable = 0

        func flush() async throws {
            guard !pending.isEmpty else { return }
            let acknowledged = try await producer.send(pending)
            sent += acknowledged.count
            pending.removeAll(keepingCapacity: true)
            if rate > 0 {
                // Pace by batch: sleep until the time at which `sent` events are due.
                let due = started + .milliseconds(Int64(sent) * 1000 / Int64(rate))
                try await Task.sleep(until: due, clock: .continuous)
            }
        }

        // Batches of decoded lines keep memory constant whatever the file size; lines come back in
        // file order with the ones that failed to decode merged in at their line numbers.
        let encoder = EventEncoder()
        while let lines = try reader.nextBatch(maxLines: batch, decoder: decoder) {
            var errors = lines.errors.makeIterator()
            var nextError = errors.next()
            for (event, line) in zip(lines.events, lines.lineNumbers) {
                while let error = nextError, error.line < line {
                    pending.append(KafkaProducerMessage(topic: topic, key: nil, value: error.rawLine))
                    undecodable += 1
                    nextError = errors.next()
                }
                pending.append(KafkaProducerMessage(topic: topic, key: Array(event.accountID.utf8), value: encoder.encode(event)))
            }
            while let error = nextError {
                pending.append(KafkaProducerMessage(topic: topic, key: nil, value: error.rawLine))
                undecodable += 1
                nextError = errors.next()
            }
            try await flush()
        }
        try await flush()
        try producer.close()
        let seconds = max((ContinuousClock.now - started).secondsDouble, 1e-9)
        let note = undecodable > 0 ? " (\(undecodable) did not decode: sent as-is, the engine dead-letters them)" : ""
        print("produced \(sent) events to \(topic) at \(brokers) in \(String(format: "%.2f", seconds)) s (\(Int(Double(sent) / seconds)) events/s)\(note)")
    }
}

extension Duration {
    var secondsDouble: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
