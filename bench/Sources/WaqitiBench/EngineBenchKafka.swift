import FraudCore
import Foundation
import Histogram
import Kafka
import Simulation

// The Kafka side of the `engine` suite: the simulated payments, the preloading and paced
// producers, the reader that times decisions, and the pass-through copier (the ceiling).

/// One simulated payment as it goes on the wire: key = account id, value = the canonical JSON.
struct BenchEvent: Sendable {
    let paymentID: String
    let occurredAt: EventTime
    let key: [UInt8]
    let value: [UInt8]
}

/// Simulated payments handed out in event-time order, so each phase sends payments the engine has
/// not seen (new payment ids, later event times). Fixed seed: every run sends the same bytes.
struct BenchEventPool {
    private var delivery: SimulatedDelivery
    private let encoder = EventEncoder()

    init(seed: UInt64) throws {
        delivery = try SimulatedDelivery(SimulationConfiguration(events: 3_000_000, seed: seed, fraudRate: 0.01))
    }

    mutating func take(_ count: Int) -> [BenchEvent] {
        var events: [BenchEvent] = []
        events.reserveCapacity(count)
        while events.count < count, let event = delivery.next() {
            events.append(BenchEvent(paymentID: event.paymentID, occurredAt: event.occurredAt, key: Array(event.accountID.utf8), value: encoder.encode(event)))
        }
        precondition(events.count == count, "the simulation ran out of events; raise BenchEventPool's event count")
        return events
    }
}

enum BenchKafka {
    static func client(_ brokers: String, _ id: String) -> KafkaClientConfiguration {
        KafkaClientConfiguration(brokers: brokers, clientID: id)
    }

    /// Sends `events` as fast as the broker acknowledges (before the consumer under test starts).
    static func preload(_ events: [BenchEvent], topic: String, brokers: String) async throws {
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: client(brokers, "waqiti-bench-preload")))
        for start in stride(from: 0, to: events.count, by: 10_000) {
            _ = try await producer.send(events[start..<min(start + 10_000, events.count)].map {
                KafkaProducerMessage(topic: topic, key: $0.key, value: $0.value)
            })
        }
        try producer.close()
    }

    /// How long the load generator's producer fills a batch. Tansu's in-memory storage keeps every
    /// record batch as one object and lists all of a partition's objects on each fetch that finds
    /// data, so a 1 ms linger (one batch per partition per millisecond at 16,000/s) made every
    /// consumer's fetches slower as the run went on: the producer's batch count, not its latency,
    /// set the floor (bench/results/engine.md, "The broker's floor, decomposed").
    static let loadLinger = Duration.milliseconds(5)

    /// The decision and copy readers' fetch wait: Tansu holds every fetch for the whole wait, and at
    /// 1 ms the reader's thousand fetches a second each listed the output topic's batches.
    static let readerFetchWait = Duration.milliseconds(5)

    /// Offers `events` at `rate` per second on a fixed schedule (open loop): every millisecond the
    /// events that are due are handed to the producer in one call, without waiting for earlier
    /// acknowledgements (librdkafka batches them for `loadLinger`). Latency is measured from the
    /// scheduled send instants, so a stalled producer or broker shows up as latency instead of
    /// silently lowering the offered load.
    static func offer(_ events: [BenchEvent], rate: Int, topic: String, brokers: String, start: ContinuousClock.Instant) async throws {
        var configuration = KafkaProducerConfiguration(client: client(brokers, "waqiti-bench-load"))
        configuration.linger = loadLinger
        let producer = try KafkaProducer(configuration: configuration)
        try await withThrowingTaskGroup(of: Void.self) { group in
            var sent = 0
            var tick = start
            while sent < events.count {
                try await Task.sleep(until: tick, clock: .continuous)
                let elapsed = ContinuousClock.now - start
                let due = min(events.count, Int(elapsed.inSeconds * Double(rate)) + 1)
                if due > sent {
                    let batch = events[sent..<due].map { KafkaProducerMessage(topic: topic, key: $0.key, value: $0.value) }
                    group.addTask { _ = try await producer.send(batch) }
                    sent = due
                }
                tick = tick + .milliseconds(1)
            }
            try await group.waitForAll()
        }
        try producer.close()
    }

    static func scheduledInstant(index: Int, rate: Int, start: ContinuousClock.Instant) -> ContinuousClock.Instant {
        start + .nanoseconds(Int64(index) * 1_000_000_000 / Int64(rate))
    }
}

extension Duration {
    var inSeconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
    var inMicroseconds: UInt64 { UInt64(max(0, components.seconds * 1_000_000 + components.attoseconds / 1_000_000_000_000)) }
}

/// What a reader saw on an output topic.
struct ReadResult: Sendable {
    var received = 0
    var distinct = 0
    var first: ContinuousClock.Instant?
    var last: ContinuousClock.Instant?
    var latency = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)

    /// Messages per second between the first and the last arrival (startup and group join excluded).
    var throughput: Double {
        guard let first, let last, distinct > 1 else { return 0 }
        return Double(distinct - 1) / (last - first).inSeconds
    }
}

/// Reads every partition of an output topic on its own thread (no consumer
/// group), until `expected` distinct outputs arrived or the deadline passed.
///
/// With `schedule`, each arrival is timed against the instant its payment was scheduled to be
/// produced (microseconds, HdrHistogram); arrivals scheduled before `measureFrom` are warm-up.
final class OutputReader: @unchecked Sendable {
    /// What makes two output messages the same output (a redelivery rather than a new one).
    enum Identity {
        /// Decisions are keyed by payment id.
        case key
        /// Copies keep the payment's key, the account id, which many payments share: only the
        /// whole value (the payment, with its id) tells two copies apart.
        case value
    }

    private let consumer: KafkaConsumer
    private let identity: Identity
    private let topic: String

    /// Reads from each partition's current end (`fromEnd`) or from its beginning.
    init(topic: String, partitions: Int32, brokers: String, identity: Identity = .key, fromEnd: Bool = false) throws {
        self.identity = identity
        self.topic = topic
        var configuration = KafkaConsumerConfiguration(client: BenchKafka.client(brokers, "waqiti-bench-reader"), groupID: nil)
        configuration.fetchWaitMax = BenchKafka.readerFetchWait
        consumer = try KafkaConsumer(configuration: configuration)
        var ranges: [KafkaPartitionRange] = []
        for partition in 0..<partitions {
            var start = KafkaStartOffset.beginning
            if fromEnd { start = .offset(try consumer.watermarks(topic: topic, partition: partition).high) }
            ranges.append(KafkaPartitionRange(topic: topic, partition: partition, start: start))
        }
        try consumer.assign(ranges)
    }

    struct Schedule: Sendable {
        var index: [String: Int]
        var rate: Int
        var start: ContinuousClock.Instant
        var measureFrom: Int
    }

    func read(expected: Int, timeout: Duration, schedule: Schedule? = nil) async -> ReadResult {
        await withCheckedContinuation { continuation in
            let thread = Thread { [self] in continuation.resume(returning: self.readBlocking(expected: expected, timeout: timeout, schedule: schedule)) }
            thread.name = "waqiti-bench-reader"
            thread.start()
        }
    }

    private func readBlocking(expected: Int, timeout: Duration, schedule: Schedule?) -> ReadResult {
        var result = ReadResult()
        var seen = Set<[UInt8]>(minimumCapacity: expected)
        let deadline = ContinuousClock.now + timeout
        // WAQITI_BENCH_LATENCY_TRACE=DIR: every timed arrival as "scheduled index, latency µs" in
        // DIR/<topic>.tsv, to see when in a row its tail happened (a diagnostic, not a result).
        let traceDirectory = schedule == nil ? nil : ProcessInfo.processInfo.environment["WAQITI_BENCH_LATENCY_TRACE"]
        var trace: [(Int, UInt64)] = []
        defer {
            if let traceDirectory {
                let lines = trace.map { "\($0.0)\t\($0.1)\n" }.joined()
                try? lines.write(toFile: "\(traceDirectory)/\(topic).tsv", atomically: true, encoding: .utf8)
            }
        }
        while result.distinct < expected, ContinuousClock.now < deadline {
            guard let batch = try? consumer.poll(maxMessages: 5_000, timeout: .milliseconds(50)) else { continue }
            let now = ContinuousClock.now
            for message in batch.messages {
                result.received += 1
                let output = identity == .key ? message.key : message.value
                guard let output else { continue }
                // Tansu's high watermark can lie before the true end (see KafkaConsumer.watermarks),
                // so a reader started "from the end" may first see older decisions: with a
                // schedule, only the scheduled payments count.
                let index = schedule?.index[String(decoding: output, as: UTF8.self)]
                guard schedule == nil || index != nil, seen.insert(output).inserted else { continue }
                result.distinct += 1
                if result.first == nil { result.first = now }
                result.last = now
                if let schedule, let index, index >= schedule.measureFrom {
                    let sent = BenchKafka.scheduledInstant(index: index, rate: schedule.rate, start: schedule.start)
                    _ = result.latency.record((now - sent).inMicroseconds)
                    if traceDirectory != nil { trace.append((index, (now - sent).inMicroseconds)) }
                }
            }
        }
        consumer.close()
        return result
    }
}

/// The broker's pass-through ceiling: a consumer-group member that copies every message of the
/// payments topic to another topic with librdkafka and no scoring, under the engine's delivery
/// contract (same batch size and fetch wait, the same producer settings, up to four batches in
/// flight, offsets committed in order after the broker acknowledged the copies: asynchronously
/// while copying, as the engine does while busy, and synchronously at the end).
enum PassThroughCopier {
    static func copy(from source: String, to target: String, group: String, expected: Int, brokers: String, batch: Int, linger: Duration) async throws {
        var consumerConfiguration = KafkaConsumerConfiguration(client: BenchKafka.client(brokers, "waqiti-bench-copier"), groupID: group)
        consumerConfiguration.fetchWaitMax = linger
        let consumer = try KafkaConsumer(configuration: consumerConfiguration)
        try consumer.subscribe(topics: [source])
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: BenchKafka.client(brokers, "waqiti-bench-copier")))
        var inFlight: [(task: Task<Void, Error>, offsets: [KafkaTopicPartitionOffset])] = []
        var copied = 0
        var latest: [KafkaTopicPartition: KafkaTopicPartitionOffset] = [:]
        func settleOldest() async throws {
            let oldest = inFlight.removeFirst()
            try await oldest.task.value
            try consumer.commit(oldest.offsets, mode: .async)
            for offset in oldest.offsets { latest[KafkaTopicPartition(topic: offset.topic, partition: offset.partition)] = offset }
        }
        for try await polled in consumer.batches(maxMessages: batch, pollTimeout: linger) {
            guard !polled.messages.isEmpty else { continue }
            let copies = polled.messages.map { KafkaProducerMessage(topic: target, key: $0.key, value: $0.value) }
            inFlight.append((task: Task { _ = try await producer.send(copies) }, offsets: polled.nextOffsets))
            copied += copies.count
            if inFlight.count >= 4 { try await settleOldest() }
            if copied >= expected { break }
        }
        while !inFlight.isEmpty { try await settleOldest() }
        try consumer.commit(Array(latest.values))
        try producer.close()
        consumer.close()
    }
}
