import FraudCore
import Kafka

/// One end of the stretch of a topic to replay.
public enum KafkaReplayBound: Sendable, Hashable {
    /// The partition's first retained record (as a start) or its end when the replay starts (as an end).
    case edge
    /// This offset in every partition (inclusive as a start, exclusive as an end).
    case offset(Int64)
    /// Records whose broker timestamp is at or after this time (start) or before it (end).
    case time(EventTime)
}

/// Reads a topic between two bounds without joining any consumer group (assign mode), so a
/// replay never steals partitions from, or commits offsets for, the live engine.
///
/// Partitions are merged deterministically (broker timestamp, then partition, then offset), so
/// the same stretch of the topic always replays in the same order. A time bound is turned into
/// an offset per partition with the broker's offsets-for-times lookup (the first record whose
/// timestamp is at or after it), so a replay of the last hour of a week-long topic reads only
/// that hour; a record inside the range whose own timestamp is outside the interval (producer
/// clocks out of order) is still skipped, so the interval is exact.
public final class KafkaReplaySource {
    public struct Options: Sendable {
        public var client: KafkaClientConfiguration
        public var topic: String
        /// Nil: every partition of the topic.
        public var partitions: [Int32]?
        public var from: KafkaReplayBound
        public var to: KafkaReplayBound
        /// Give up when no record arrives for this long while some partition is short of its end.
        public var idleTimeout: Duration

        public init(client: KafkaClientConfiguration, topic: String, partitions: [Int32]? = nil, from: KafkaReplayBound = .edge, to: KafkaReplayBound = .edge, idleTimeout: Duration = .seconds(30)) {
            self.client = client
            self.topic = topic
            self.partitions = partitions
            self.from = from
            self.to = to
            self.idleTimeout = idleTimeout
        }
    }

    /// A replay that cannot make progress, naming the partitions that are short of their end.
    public struct Stalled: Error, CustomStringConvertible {
        public var topic: String
        public var waiting: [Int32: (next: Int64, end: Int64)]
        public var idle: Duration

        public var description: String {
            let parts = waiting.keys.sorted().map { "\(topic)[\($0)] at offset \(waiting[$0]!.next) of \(waiting[$0]!.end)" }
            return "Kafka replay stalled: nothing received for \(idle) while \(parts.joined(separator: ", ")) had not reached its end; check the broker, or give --kafka-to offsets that exist"
        }
    }

    public let options: Options
    private let consumer: KafkaConsumer
    private let decoder = EventDecoder()
    private var merger: PartitionMerger<Result<PaymentEvent, EventLineError>>
    /// Per partition: next offset expected and the exclusive end.
    private var progress: [Int32: (next: Int64, end: Int64)] = [:]
    private let fromTime: Int64?
    private let toTime: Int64?

    public init(options: Options) throws {
        self.options = options
        var configuration = KafkaConsumerConfiguration(client: options.client, groupID: nil)
        configuration.reportPartitionEOF = true
        consumer = try KafkaConsumer(configuration: configuration)
        let partitions = try options.partitions ?? Self.discoverPartitions(consumer, topic: options.topic)
        guard !partitions.isEmpty else { throw KafkaError.invalidConfiguration(key: "topic", reason: "topic '\(options.topic)' has no partitions") }
        var ranges: [KafkaPartitionRange] = []
        let startsAt = try Self.offsets(at: options.from, consumer, topic: options.topic, partitions: partitions)
        let endsAt = try Self.offsets(at: options.to, consumer, topic: options.topic, partitions: partitions)
        for partition in partitions {
            let (low, high) = try consumer.watermarks(topic: options.topic, partition: partition)
            var start = low, end = high
            switch options.from {
            case .edge: break
            case .offset(let offset): start = max(low, offset)
            case .time: start = max(low, startsAt[partition].flatMap { $0 } ?? high)
            }
            switch options.to {
            case .edge: break
            case .offset(let offset): end = offset
            case .time: end = min(high, endsAt[partition].flatMap { $0 } ?? high)
            }
            progress[partition] = (start, end)
            ranges.append(KafkaPartitionRange(topic: options.topic, partition: partition, start: .offset(start), end: end))
        }
        if case .time(let time) = options.from { fromTime = time.millisecondsSinceEpoch } else { fromTime = nil }
        if case .time(let time) = options.to { toTime = time.millisecondsSinceEpoch } else { toTime = nil }
        merger = PartitionMerger(partitions: partitions)
        for (partition, range) in progress where range.next >= range.end { merger.finish(partition) }
        try consumer.assign(ranges.filter { progress[$0.partition]!.next < progress[$0.partition]!.end })
    }

    deinit { consumer.close() }

    /// The first offset at or after a time bound, per partition (nil: no record that late); empty
    /// for other bounds.
    static func offsets(at bound: KafkaReplayBound, _ consumer: KafkaConsumer, topic: String, partitions: [Int32]) throws -> [Int32: Int64?] {
        guard case .time(let time) = bound else { return [:] }
        return try consumer.offsetsForTimes(topic: topic, partitions: partitions, milliseconds: time.millisecondsSinceEpoch)
    }

    /// Partitions 0, 1, … for which the broker reports watermarks.
    static func discoverPartitions(_ consumer: KafkaConsumer, topic: String) throws -> [Int32] {
        var partitions: [Int32] = []
        while partitions.count < 4096 {
            do {
                _ = try consumer.watermarks(topic: topic, partition: Int32(partitions.count), timeout: .seconds(5))
                partitions.append(Int32(partitions.count))
            } catch {
                if partitions.isEmpty { throw error }
                break
            }
        }
        return partitions
    }

    /// The next records in merged order, decoded; nil once every partition reached its end.
    public func nextBatch(maxEvents: Int) throws -> EventBatch? {
        var released: [Result<PaymentEvent, EventLineError>] = []
        var lastArrival = ContinuousClock.now
        while released.count < maxEvents {
            merger.release(into: &released, limit: maxEvents)
            if merger.isDrained || released.count >= maxEvents { break }
            let batch = try consumer.poll(maxMessages: 2_000, timeout: .milliseconds(200))
            if batch.messages.isEmpty {
                if !released.isEmpty { break }
                if ContinuousClock.now - lastArrival > options.idleTimeout {
                    throw Stalled(topic: options.topic, waiting: progress.filter { $0.value.next < $0.value.end }, idle: options.idleTimeout)
                }
                continue
            }
            lastArrival = ContinuousClock.now
            for message in batch.messages { accept(message) }
        }
        guard !released.isEmpty else { return nil }
        var out = EventBatch()
        for record in released {
            switch record {
            case .success(let event):
                out.events.append(event)
                out.lineNumbers.append(0)
            case .failure(let error): out.errors.append(error)
            }
        }
        return out
    }

    private func accept(_ message: KafkaConsumerMessage) {
        guard let range = progress[message.partition], message.offset >= range.next, message.offset < range.end else { return }
        progress[message.partition]!.next = message.offset + 1
        if message.offset + 1 >= range.end { merger.finish(message.partition) }
        let timestamp = message.timestampMilliseconds ?? 0
        if let fromTime, timestamp < fromTime { return }
        if let toTime, timestamp >= toTime { return }
        let record: Result<PaymentEvent, EventLineError>
        do throws(EventDecodingError) {
            record = .success(try decoder.decode(message.value))
        } catch {
            record = .failure(EventLineError(file: "\(message.topic)[\(message.partition)]", line: Int(message.offset), error: error, rawLine: Array(message.value.prefix(4096))))
        }
        merger.add(record, at: .init(timestamp: timestamp, partition: message.partition, offset: message.offset))
    }
}
