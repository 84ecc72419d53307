import FraudCore
import Kafka

/// One end of the stretch of a topic to replay.
public enum KafkaReplayBound: Sendable, Hashable {
    /// The partition's first retained record (as a start) or its end (as an end: the offset at
    /// which the broker reports the end of the partition when the replay catches up with it).
    case edge
    /// This offset in every partition (inclusive as a start, exclusive as an end).
    case offset(Int64)
    /// Records whose broker timestamp is at or after this time (start) or before it (end).
    case time(EventTime)
}

/// Reads a topic between two bounds without joining any consumer group (assign mode), so a
/// replay never steals partitions from, or commits offsets for, the live engine.
///
/// Partitions are merged deterministically on each event's `occurred_at`, then partition, then
/// offset (`PartitionMerger`), so the same stretch of the topic always replays in the same order,
/// the order of the same events in a file sorted by time. The bounds are broker timestamps.
///
/// Where a partition ends is decided from what is read, never from the broker's ListOffsets
/// answers: Tansu 0.6 answers the latest offset as one past the first record of the last record
/// batch and offsets-for-times with the start of a batch (0 even for a time after every record),
/// which cut a replay "to the end" short (42 of 80 records in a test). So an `.edge` end is the
/// partition's end-of-partition event (the fetch's high watermark, exact on Tansu and Kafka), an
/// `.offset` end is that offset, and a `.time` end is the first record whose timestamp is at or
/// after it (the definition of offsets-for-times) or the end of the partition, whichever comes
/// first. A start past the end of a partition is seen the same way, from the high watermark of the
/// fetch responses (never ListOffsets'): librdkafka reports the end of a partition only when its
/// fetch position *equals* the high watermark, so a partition read from beyond its end never
/// reports one (Tansu answers such fetches empty, without an out-of-range error; Kafka answers
/// out of range, and `auto.offset.reset` refetches from the first record, whose end-of-partition
/// then comes below the start). Such a partition, unless its end is an `.offset` (which a live
/// topic may still reach), has nothing in range and is finished. A `.time` start still seeks with
/// offsets-for-times, which may only point earlier than the first record in range (a batch
/// start); records before the start time are skipped by their own timestamp, so the interval is
/// exact either way.
public final class KafkaReplaySource {
    public struct Options: Sendable {
        public var client: KafkaClientConfiguration
        public var topic: String
        /// Nil: every partition of the topic.
        public var partitions: [Int32]?
        public var from: KafkaReplayBound
        public var to: KafkaReplayBound
        /// Give up when nothing arrives for this long while some partition is short of its end.
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

    /// How far one partition has been read.
    public struct PartitionProgress: Sendable, Hashable {
        /// The next offset expected.
        public var next: Int64
        /// The exclusive end offset, when the bound is an offset.
        public var end: Int64?
        public var finished = false
        /// The partition's high watermark as the last fetch response gave it, once one did.
        public var fetchedEnd: Int64?
    }

    /// A replay that cannot make progress, naming the partitions that are short of their end.
    public struct Stalled: Error, CustomStringConvertible {
        public var topic: String
        public var waiting: [Int32: PartitionProgress]
        public var idle: Duration

        public var description: String {
            let parts = waiting.keys.sorted().map { partition in
                let progress = waiting[partition]!
                return "\(topic)[\(partition)] at offset \(progress.next) " + (progress.end.map { "of \($0)" } ?? "(its end not reported yet)")
                    + (progress.fetchedEnd.map { " (the partition ends at \($0))" } ?? "")
            }
            return "Kafka replay stalled: nothing received for \(idle) while \(parts.joined(separator: ", ")) had not reached its end; check the broker, or give --kafka-to offsets that exist"
        }
    }

    /// Bounds of one kind with the end before the start.
    public struct InvertedBounds: Error, CustomStringConvertible {
        public var from: KafkaReplayBound
        public var to: KafkaReplayBound

        public var description: String {
            func text(_ bound: KafkaReplayBound) -> String {
                switch bound {
                case .edge: "the edge"
                case .offset(let offset): "offset \(offset)"
                case .time(let time): "\(time)"
                }
            }
            return "--kafka-to (\(text(to))) is before --kafka-from (\(text(from))): nothing to replay"
        }
    }

    public let options: Options
    private let consumer: KafkaConsumer
    private let decoder = EventDecoder()
    private var merger: PartitionMerger<Result<LocatedEvent, EventLineError>>

    /// A decoded record with where it came from, which a report of the event names
    /// (`EventBatch.partitions` and `lineNumbers`).
    private struct LocatedEvent {
        var event: PaymentEvent
        var partition: Int32
        var offset: Int64
    }
    private var progress: [Int32: PartitionProgress] = [:]
    private let fromTime: Int64?
    private let toTime: Int64?

    /// Refuses bounds of one kind whose end is before their start (an offset and a time are
    /// compared only per partition, once the broker has resolved the time).
    public static func checkBounds(from: KafkaReplayBound, to: KafkaReplayBound) throws(InvertedBounds) {
        switch (from, to) {
        case (.offset(let start), .offset(let end)) where end < start: throw InvertedBounds(from: from, to: to)
        case (.time(let start), .time(let end)) where end < start: throw InvertedBounds(from: from, to: to)
        default: break
        }
    }

    public init(options: Options) throws {
        try Self.checkBounds(from: options.from, to: options.to)
        self.options = options
        var configuration = KafkaConsumerConfiguration(client: options.client, groupID: nil)
        configuration.reportPartitionEOF = true
        consumer = try KafkaConsumer(configuration: configuration)
        let partitions = try Self.partitions(consumer, options: options)
        if case .time(let time) = options.from { fromTime = time.millisecondsSinceEpoch } else { fromTime = nil }
        if case .time(let time) = options.to { toTime = time.millisecondsSinceEpoch } else { toTime = nil }
        var seek: [Int32: Int64?] = [:]
        if case .time(let time) = options.from {
            seek = try consumer.offsetsForTimes(topic: options.topic, partitions: partitions, milliseconds: time.millisecondsSinceEpoch)
        }
        var ranges: [KafkaPartitionRange] = []
        for partition in partitions {
            let start: KafkaStartOffset
            switch options.from {
            case .edge: start = .beginning
            case .offset(let offset): start = .offset(offset)
            case .time: start = seek[partition].flatMap { $0 }.map(KafkaStartOffset.offset) ?? .end
            }
            var state = PartitionProgress(next: 0, end: nil)
            if case .offset(let offset) = start { state.next = offset }
            if case .offset(let offset) = options.to { state.end = offset }
            // A time start with no record that late: nothing of this partition is in range.
            if start == .end || state.end.map({ state.next >= $0 }) == true { state.finished = true }
            progress[partition] = state
            if !state.finished { ranges.append(KafkaPartitionRange(topic: options.topic, partition: partition, start: start)) }
        }
        merger = PartitionMerger(partitions: partitions)
        for (partition, state) in progress where state.finished { merger.finish(partition) }
        try consumer.assign(ranges)
    }

    deinit { consumer.close() }

    /// The topic, or a requested partition of it, is not on the brokers.
    public enum TopicError: Error, Equatable, CustomStringConvertible {
        case unknownTopic(topic: String, brokers: String)
        case noPartitions(topic: String)
        case unknownPartitions(topic: String, missing: [Int32], existing: [Int32])
        case noPartitionsRequested(topic: String)
        case metadataUnavailable(topic: String, brokers: String, reason: String)

        public var description: String {
            switch self {
            case .unknownTopic(let topic, let brokers):
                "Kafka topic '\(topic)' does not exist on the brokers at \(brokers); check --kafka-topic (and --kafka-brokers)"
            case .noPartitions(let topic):
                "Kafka topic '\(topic)' has no partitions in the brokers' metadata; nothing to replay"
            case .unknownPartitions(let topic, let missing, let existing):
                "--kafka-partitions names \(missing.count == 1 ? "partition" : "partitions") \(missing.map(String.init).joined(separator: ",")), which Kafka topic '\(topic)' does not have: "
                    + "its partitions are \(Self.ranges(existing)); give partitions that exist, or drop --kafka-partitions to replay every partition"
            case .metadataUnavailable(let topic, let brokers, let reason):
                "cannot read which partitions Kafka topic '\(topic)' has from the brokers at \(brokers) (\(reason)); check that they are reachable (--kafka-brokers)"
            case .noPartitionsRequested(let topic):
                "an empty list of partitions of Kafka topic '\(topic)' replays nothing; name partitions, or none to replay every partition"
            }
        }

        /// `0-2` for 0,1,2; `0,2,5-7` when there are gaps.
        static func ranges(_ partitions: [Int32]) -> String {
            var parts: [String] = [], index = 0
            while index < partitions.count {
                var last = index
                while last + 1 < partitions.count, partitions[last + 1] == partitions[last] + 1 { last += 1 }
                parts.append(last == index ? "\(partitions[index])" : "\(partitions[index])-\(partitions[last])")
                index = last + 1
            }
            return parts.joined(separator: ",")
        }
    }

    /// The partitions to read: the requested ones once the topic's metadata shows they exist, or
    /// every partition in it. From one metadata request, not by probing 0, 1, 2, …: a probe that
    /// failed once (a leader moving) ended the list there and the replay silently skipped the rest.
    static func partitions(_ consumer: KafkaConsumer, options: Options) throws -> [Int32] {
        let brokers = options.client.bootstrapServers.joined(separator: ",")
        let found: [Int32]?
        do {
            found = try consumer.partitions(of: options.topic)
        } catch {
            throw TopicError.metadataUnavailable(topic: options.topic, brokers: brokers, reason: "\(error)")
        }
        guard let existing = found else { throw TopicError.unknownTopic(topic: options.topic, brokers: brokers) }
        guard !existing.isEmpty else { throw TopicError.noPartitions(topic: options.topic) }
        guard let requested = options.partitions else { return existing }
        guard !requested.isEmpty else { throw TopicError.noPartitionsRequested(topic: options.topic) }
        let missing = requested.filter { !existing.contains($0) }
        guard missing.isEmpty else { throw TopicError.unknownPartitions(topic: options.topic, missing: missing, existing: existing) }
        return requested
    }

    /// The next records in merged order, decoded; nil once every partition reached its end.
    public func nextBatch(maxEvents: Int) throws -> EventBatch? {
        var released: [Result<LocatedEvent, EventLineError>] = []
        var lastArrival = ContinuousClock.now
        while released.count < maxEvents {
            merger.release(into: &released, limit: maxEvents)
            if merger.isDrained || released.count >= maxEvents { break }
            let batch = try consumer.poll(maxMessages: 2_000, timeout: .milliseconds(200))
            for message in batch.messages { accept(message) }
            var ends = 0
            for case .partitionEOF(let partition, let offset) in batch.events where partition.topic == options.topic {
                reachedEnd(partition.partition, at: offset)
                ends += 1
            }
            ends += finishStartsPastTheEnd()
            if batch.messages.isEmpty && ends == 0 {
                if !released.isEmpty { break }
                if ContinuousClock.now - lastArrival > options.idleTimeout {
                    throw Stalled(topic: options.topic, waiting: progress.filter { !$0.value.finished }, idle: options.idleTimeout)
                }
                continue
            }
            lastArrival = ContinuousClock.now
        }
        guard !released.isEmpty else { return nil }
        var out = EventBatch()
        for record in released {
            switch record {
            case .success(let located):
                out.events.append(located.event)
                out.lineNumbers.append(Int(located.offset))
                out.partitions.append(located.partition)
            case .failure(let error): out.errors.append(error)
            }
        }
        return out
    }

    private func accept(_ message: KafkaConsumerMessage) {
        guard let state = progress[message.partition], !state.finished, message.offset >= state.next else { return }
        if let end = state.end, message.offset >= end { return finish(message.partition) }
        let timestamp = message.timestampMilliseconds ?? 0
        if let toTime, timestamp >= toTime { return finish(message.partition) }
        progress[message.partition]!.next = message.offset + 1
        if let end = state.end, message.offset + 1 >= end { finish(message.partition) }
        if let fromTime, timestamp < fromTime { return }
        let record: Result<LocatedEvent, EventLineError>
        do throws(EventDecodingError) {
            record = .success(LocatedEvent(event: try decoder.decode(message.value), partition: message.partition, offset: message.offset))
        } catch {
            record = .failure(EventLineError(file: "\(message.topic)[\(message.partition)]", line: Int(message.offset), error: error, rawLine: Array(message.value.prefix(4096))))
        }
        // Merged on the event's own time, as a file replay orders them (not the broker's, which a
        // backfill sets to about the same instant for every record); a record that did not
        // decode keeps its place in its partition.
        merger.add(record, partition: message.partition, offset: message.offset, eventTime: try? record.get().event.occurredAt.millisecondsSinceEpoch)
    }

    /// The broker reported the end of `partition` at `offset` (the next offset to be written):
    /// every record before it has been delivered. An `.offset` end further on is still waited for
    /// (a live topic may reach it); any other end is reached, even one below the start (Kafka's
    /// answer to a start past the end: out of range, refetched from the first record).
    private func reachedEnd(_ partition: Int32, at offset: Int64) {
        guard let state = progress[partition], !state.finished else { return }
        if let end = state.end, offset < end { return }
        finish(partition)
    }

    /// Finishes the partitions whose fetched high watermark is below their next offset: read
    /// from beyond their end, they never report one. Returns how many it finished.
    private func finishStartsPastTheEnd() -> Int {
        var finished = 0
        for (partition, state) in progress where !state.finished {
            guard let high = consumer.fetchedHighWatermark(topic: options.topic, partition: partition) else { continue }
            progress[partition]!.fetchedEnd = high
            if state.end == nil, high < state.next {
                finish(partition)
                finished += 1
            }
        }
        return finished
    }

    private func finish(_ partition: Int32) {
        progress[partition]!.finished = true
        merger.finish(partition)
    }
}
