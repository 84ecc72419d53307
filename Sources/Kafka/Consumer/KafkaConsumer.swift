import CRdKafka
import Dispatch
import Logging
import Synchronization

/// Reads records as a member of a consumer group (`subscribe`) or from explicit partitions
/// without joining a group (`assign`, for replay), and commits explicit offsets.
///
/// Offsets are never committed automatically: commit `KafkaConsumerBatch.nextOffsets` after the
/// decisions for the batch are acknowledged. Polls and `close` run on one private serial queue
/// (a dedicated thread, not the cooperative pool), so `batches()` can be iterated from async code.
/// Thread-safe; `close()` is called once, after iteration ended.
public final class KafkaConsumer: Sendable {
    public let configuration: KafkaConsumerConfiguration
    private let client: RDKafkaClient
    private let callbacks: ConsumerCallbacks
    private let queue = DispatchQueue(label: "waqiti-kafka-consumer")
    private let ranges = Mutex(RangeProgress())

    public init(configuration: KafkaConsumerConfiguration, logger: Logger = Logger(label: "waqiti.kafka.consumer")) throws(KafkaError) {
        self.configuration = configuration
        let callbacks = ConsumerCallbacks(logger: logger)
        client = try RDKafkaClient(type: RD_KAFKA_CONSUMER, properties: configuration.properties(), callbacks: callbacks) { conf in
            rd_kafka_conf_set_rebalance_cb(conf) { client, code, partitions, opaque in
                guard let client, let callbacks = ClientCallbacks.from(opaque) as? ConsumerCallbacks else { return }
                callbacks.rebalance(client: client, code: code, partitions: partitions)
            }
            rd_kafka_conf_set_offset_commit_cb(conf) { _, code, _, opaque in
                guard code != RD_KAFKA_RESP_ERR_NO_ERROR, code != RD_KAFKA_RESP_ERR__NO_OFFSET,
                      let callbacks = ClientCallbacks.from(opaque) as? ConsumerCallbacks else { return }
                callbacks.append(.commitFailed(KafkaErrorCode(code)))
            }
        }
        self.callbacks = callbacks
        // Route rebalances, errors and fetched messages through rd_kafka_consumer_poll.
        rd_kafka_poll_set_consumer(client.handle)
    }

    deinit { closeNow() }

    /// Joins the group and subscribes to `topics`; partitions arrive with `.assigned` events.
    public func subscribe(topics: [String]) throws(KafkaError) {
        try requireGroup(for: "subscribe")
        try checkOpen()
        let list = PartitionList(topics.map { KafkaTopicPartitionOffset(topic: $0, partition: RD_KAFKA_PARTITION_UA, offset: -1001) })
        let code = rd_kafka_subscribe(client.handle, list.pointer)
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else { throw .operationFailed(operation: "subscribe to \(topics)", code: KafkaErrorCode(code)) }
    }

    /// Reads exactly these partitions without joining a group. Bounded ranges end the
    /// `batches()` sequence once read to their `end`.
    public func assign(_ partitions: [KafkaPartitionRange]) throws(KafkaError) {
        try checkOpen()
        let list = PartitionList(partitions.map { KafkaTopicPartitionOffset(topic: $0.topic, partition: $0.partition, offset: $0.start.rawValue) })
        ranges.withLock { $0 = RangeProgress(partitions) }
        let code = rd_kafka_assign(client.handle, list.pointer)
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else { throw .operationFailed(operation: "assign", code: KafkaErrorCode(code)) }
    }

    /// Waits up to `timeout` for the first message, then takes what is already fetched, up to
    /// `maxMessages`. Blocks the calling thread; from async code iterate `batches()` instead.
    public func poll(maxMessages: Int = 500, timeout: Duration = .milliseconds(100)) throws(KafkaError) -> KafkaConsumerBatch {
        try queue.sync { Result { () throws(KafkaError) in try pollNow(maxMessages: maxMessages, timeout: timeout) } }.get()
    }

    /// Non-empty batches, polled on the consumer's own thread. Ends when the task is cancelled,
    /// the consumer is closed, or every bounded `assign` range has been read.
    public func batches(maxMessages: Int = 500, pollTimeout: Duration = .milliseconds(100)) -> KafkaConsumerBatches {
        KafkaConsumerBatches(consumer: self, maxMessages: maxMessages, pollTimeout: pollTimeout)
    }

    /// True once every range given to `assign` with an `end` has been read up to it.
    public var isReplayComplete: Bool { ranges.withLock { $0.isComplete } }

    /// Commits explicit offsets (each the next offset to read). `.sync` waits for the broker;
    /// `.async` returns at once and reports failures as `.commitFailed` events.
    /// Nothing to commit (`_NO_OFFSET`) counts as success.
    public func commit(_ offsets: [KafkaTopicPartitionOffset], mode: KafkaCommitMode = .sync) throws(KafkaError) {
        try requireGroup(for: "commit")
        try checkOpen()
        guard !offsets.isEmpty else { return }
        let list = PartitionList(offsets)
        let code = rd_kafka_commit(client.handle, list.pointer, mode == .async ? 1 : 0)
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR || code == RD_KAFKA_RESP_ERR__NO_OFFSET else {
            throw .operationFailed(operation: "commit of \(offsets)", code: KafkaErrorCode(code))
        }
        if mode == .sync, let failed = list.entries.first(where: { $0.error != nil && $0.error != .noOffset }) {
            throw .operationFailed(operation: "commit of \(failed.offset)", code: failed.error!)
        }
    }

    /// The group's committed offsets for `partitions`; partitions without one are absent.
    public func committed(_ partitions: [KafkaTopicPartition], timeout: Duration = .seconds(10)) throws(KafkaError) -> [KafkaTopicPartition: Int64] {
        try requireGroup(for: "committed offsets")
        try checkOpen()
        let list = PartitionList(partitions.map { KafkaTopicPartitionOffset(topic: $0.topic, partition: $0.partition, offset: -1001) })
        let code = rd_kafka_committed(client.handle, list.pointer, Int32(clamping: timeout.milliseconds))
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else { throw .operationFailed(operation: "read committed offsets", code: KafkaErrorCode(code)) }
        var result: [KafkaTopicPartition: Int64] = [:]
        for entry in list.entries where entry.offset.offset >= 0 {
            result[KafkaTopicPartition(topic: entry.offset.topic, partition: entry.offset.partition)] = entry.offset.offset
        }
        return result
    }

    /// The consumer's fatal error, nil while it has none (librdkafka raises one for a consumer
    /// only with static group membership, when another member took its `group.instance.id`);
    /// polls then throw it.
    public var fatalFailure: KafkaError? { client.fatalFailure() }

    /// How many times the group assigned or revoked `partition` for this member so far (0: never
    /// assigned). Every assignment change the rebalance callback applies moves it on, so an
    /// offset polled under one epoch must not be committed under another: the partition was
    /// revoked in between, and its next owner (or this member again, from the group's committed
    /// offset) has read on since. Each polled message carries the epoch it was read under.
    public func assignmentEpoch(of partition: KafkaTopicPartition) -> UInt64 {
        callbacks.assignmentEpoch(of: partition)
    }

    /// The partitions assigned to this member now. librdkafka changes the assignment only in a
    /// rebalance callback, which runs inside a poll.
    public func assignment() throws(KafkaError) -> Set<KafkaTopicPartition> {
        try checkOpen()
        var list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
        let code = rd_kafka_assignment(client.handle, &list)
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR, let list else { throw .operationFailed(operation: "read the assignment", code: KafkaErrorCode(code)) }
        defer { rd_kafka_topic_partition_list_destroy(list) }
        return Set(PartitionList.topicPartitions(of: list))
    }

    /// The partition's low and high watermarks (first offset, and one past the last) from the
    /// broker; `high - committed` is the group's lag. Tansu 0.6 answers the high watermark as one
    /// past the *first* offset of the last record batch, so with Tansu it is exact only when the
    /// last batch held one record.
    public func watermarks(topic: String, partition: Int32, timeout: Duration = .seconds(10)) throws(KafkaError) -> (low: Int64, high: Int64) {
        try checkOpen()
        var low: Int64 = -1
        var high: Int64 = -1
        let code = rd_kafka_query_watermark_offsets(client.handle, topic, partition, &low, &high, Int32(clamping: timeout.milliseconds))
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw .operationFailed(operation: "watermarks of \(topic)[\(partition)]", code: KafkaErrorCode(code))
        }
        return (low, high)
    }

    /// The topic's partition ids from the brokers' metadata (ascending), or nil when the brokers
    /// do not know the topic. One Metadata request for every topic, so asking never auto-creates
    /// the topic: a replay's partitions come from here rather than from probing each partition's
    /// watermarks, where one failed probe silently cut the list short.
    public func partitions(of topic: String, timeout: Duration = .seconds(10)) throws(KafkaError) -> [Int32]? {
        try checkOpen()
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let code = rd_kafka_metadata(client.handle, 1, nil, &metadata, Int32(clamping: timeout.milliseconds))
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
            throw .operationFailed(operation: "metadata of topic \(topic)", code: KafkaErrorCode(code))
        }
        defer { rd_kafka_metadata_destroy(metadata) }
        for index in 0..<Int(metadata.pointee.topic_cnt) {
            let entry = metadata.pointee.topics[index]
            guard String(cString: entry.topic) == topic else { continue }
            if entry.err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART { return nil }
            guard entry.err == RD_KAFKA_RESP_ERR_NO_ERROR else {
                throw .operationFailed(operation: "metadata of topic \(topic)", code: KafkaErrorCode(entry.err))
            }
            return (0..<Int(entry.partition_cnt)).map { entry.partitions[$0].id }.sorted()
        }
        return nil
    }

    /// The partition's high watermark as the last fetch response for it gave it
    /// (`rd_kafka_get_watermark_offsets`: no broker round trip), nil before any fetch response
    /// for it. Unlike `watermarks(topic:partition:)` (ListOffsets), it is exact on Tansu 0.6.
    public func fetchedHighWatermark(topic: String, partition: Int32) -> Int64? {
        guard !client.isDestroyed else { return nil }
        var low: Int64 = -1
        var high: Int64 = -1
        let code = rd_kafka_get_watermark_offsets(client.handle, topic, partition, &low, &high)
        return code == RD_KAFKA_RESP_ERR_NO_ERROR && high >= 0 ? high : nil
    }

    /// Where each partition ends (`.end`: its high watermark, one past the last offset) or starts
    /// (`.start`: its low watermark), for many partitions of a topic in one ListOffsets round trip
    /// per leader (`watermarks(topic:partition:)` asks for one partition, both ends). Tansu 0.6
    /// answers the end as one past the *first* offset of the last record batch.
    public func boundaryOffsets(topic: String, partitions: [Int32], _ boundary: KafkaPartitionBoundary, timeout: Duration = .seconds(10)) throws(KafkaError) -> [Int32: Int64] {
        // ListOffsets' special timestamps: -1 asks for the latest offset, -2 for the earliest.
        let offsets = try offsetsForTimes(topic: topic, partitions: partitions, milliseconds: boundary == .end ? -1 : -2, timeout: timeout)
        var result: [Int32: Int64] = [:]
        for (partition, offset) in offsets {
            guard let offset else { throw .operationFailed(operation: "\(boundary) offset of \(topic)[\(partition)]", code: .unknownTopicOrPartition) }
            result[partition] = offset
        }
        return result
    }

    /// Per partition, the first offset whose record timestamp is at or after `milliseconds` since
    /// the epoch (the broker's ListOffsets by time), or nil when no record is that late: where a
    /// replay bounded by time starts reading, and where it stops.
    public func offsetsForTimes(topic: String, partitions: [Int32], milliseconds: Int64, timeout: Duration = .seconds(10)) throws(KafkaError) -> [Int32: Int64?] {
        try checkOpen()
        let list = PartitionList(partitions.map { KafkaTopicPartitionOffset(topic: topic, partition: $0, offset: milliseconds) })
        let code = rd_kafka_offsets_for_times(client.handle, list.pointer, Int32(clamping: timeout.milliseconds))
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw .operationFailed(operation: "offsets for time \(milliseconds) in \(topic)", code: KafkaErrorCode(code))
        }
        var result: [Int32: Int64?] = [:]
        for entry in list.entries {
            if let error = entry.error { throw .operationFailed(operation: "offset for time \(milliseconds) in \(topic)[\(entry.offset.partition)]", code: error) }
            result[entry.offset.partition] = entry.offset.offset >= 0 ? entry.offset.offset : nil
        }
        return result
    }

    /// Leaves the group (revoking its partitions) and destroys the client. Commit first: nothing
    /// is committed here.
    public func close() {
        queue.sync { closeNow() }
    }

    // MARK: - On the consumer queue

    private func closeNow() {
        guard !client.isDestroyed else { return }
        _ = rd_kafka_consumer_close(client.handle)
        client.destroy()
    }

    private func requireGroup(for operation: String) throws(KafkaError) {
        guard configuration.groupID != nil else {
            throw .invalidConfiguration(key: "group.id", reason: "\(operation) needs a consumer group; this consumer is assign-only (groupID nil)")
        }
    }

    private func checkOpen() throws(KafkaError) {
        if client.isDestroyed { throw .closed }
    }

    private func pollNow(maxMessages: Int, timeout: Duration) throws(KafkaError) -> KafkaConsumerBatch {
        try checkOpen()
        var batch = KafkaConsumerBatch()
        var messageEvents: [KafkaConsumerEvent] = []
        var wait = Int32(clamping: timeout.milliseconds)
        var topicNames = TopicNameCache()
        var epochs = EpochCache()
        while batch.messages.count < maxMessages, let message = rd_kafka_consumer_poll(client.handle, wait) {
            wait = 0
            defer { rd_kafka_message_destroy(message) }
            let record = message.pointee
            let topic = topicNames.name(of: record.rkt)
            let partition = KafkaTopicPartition(topic: topic, partition: record.partition)
            switch record.err {
            case RD_KAFKA_RESP_ERR_NO_ERROR:
                if ranges.withLock({ $0.accept(partition, offset: record.offset) }) {
                    // Read after rd_kafka_consumer_poll returned it: a rebalance callback served
                    // by that call ran before, on this thread.
                    batch.messages.append(Self.message(message, topic: topic, epoch: epochs.epoch(of: partition, in: callbacks)))
                }
            case RD_KAFKA_RESP_ERR__PARTITION_EOF:
                ranges.withLock { $0.reachedEnd(partition, offset: record.offset) }
                messageEvents.append(.partitionEOF(partition, offset: record.offset))
            default:
                let code = KafkaErrorCode(record.err)
                if let fatal = client.fatalFailure() { throw fatal }
                messageEvents.append(.error(code, detail: String(cString: rd_kafka_message_errstr(message))))
            }
        }
        batch.events = callbacks.drainEvents() + messageEvents
        return batch
    }

    /// Polls on the consumer queue without blocking the caller's thread; nil once closed or
    /// once every bounded range is read.
    func pollOffCooperativePool(maxMessages: Int, timeout: Duration) async throws(KafkaError) -> KafkaConsumerBatch? {
        if client.isDestroyed || isReplayComplete { return nil }
        let result: Result<KafkaConsumerBatch, KafkaError> = await withCheckedContinuation { continuation in
            queue.async {
                continuation.resume(returning: Result { () throws(KafkaError) in try self.pollNow(maxMessages: maxMessages, timeout: timeout) })
            }
        }
        return try result.get()
    }

    private static func message(_ pointer: UnsafeMutablePointer<rd_kafka_message_t>, topic: String, epoch: UInt64) -> KafkaConsumerMessage {
        let record = pointer.pointee
        var timestampType = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let timestamp = rd_kafka_message_timestamp(pointer, &timestampType)
        return KafkaConsumerMessage(
            topic: topic, partition: record.partition, offset: record.offset,
            key: record.key.map { Array(UnsafeRawBufferPointer(start: $0, count: record.key_len)) },
            value: record.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: record.len)) } ?? [],
            headers: headers(of: pointer),
            timestampMilliseconds: timestampType == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? nil : timestamp,
            assignmentEpoch: epoch)
    }

    private static func headers(of message: UnsafeMutablePointer<rd_kafka_message_t>) -> [KafkaHeader] {
        var list: OpaquePointer?
        guard rd_kafka_message_headers(message, &list) == RD_KAFKA_RESP_ERR_NO_ERROR, let list else { return [] }
        var headers: [KafkaHeader] = []
        var name: UnsafePointer<CChar>?
        var value: UnsafeRawPointer?
        var size = 0
        var index = 0
        while rd_kafka_header_get_all(list, index, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
            headers.append(KafkaHeader(name: name.map { String(cString: $0) } ?? "", value: value.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) }))
            index += 1
        }
        return headers
    }
}

/// How `KafkaConsumer.commit` waits.
public enum KafkaCommitMode: Sendable {
    case sync, async
}

/// Consumer state for the rebalance and commit callbacks: events queued until the next poll, and
/// each partition's assignment epoch.
final class ConsumerCallbacks: ClientCallbacks, @unchecked Sendable {
    private let events = Mutex<[KafkaConsumerEvent]>([])
    private let epochs = Mutex<[KafkaTopicPartition: UInt64]>([:])
    /// Assignment changes so far: a poll re-reads an epoch only after one.
    let assignmentChanges = Atomic<UInt64>(0)

    func assignmentEpoch(of partition: KafkaTopicPartition) -> UInt64 {
        epochs.withLock { $0[partition] ?? 0 }
    }

    /// Moves the epoch of each partition on (nil: of every partition ever assigned).
    private func advanceEpochs(_ partitions: [KafkaTopicPartition]?) {
        epochs.withLock { epochs in
            for partition in partitions ?? Array(epochs.keys) { epochs[partition, default: 0] += 1 }
        }
        assignmentChanges.add(1, ordering: .releasing)
    }

    func append(_ event: KafkaConsumerEvent) { events.withLock { $0.append(event) } }

    func drainEvents() -> [KafkaConsumerEvent] {
        events.withLock { events in
            defer { events.removeAll() }
            return events
        }
    }

    /// Applies the assignment change (eager or cooperative protocol) and records it.
    func rebalance(client: OpaquePointer, code: rd_kafka_resp_err_t, partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?) {
        let changed = partitions.map { PartitionList.topicPartitions(of: $0) } ?? []
        let cooperative = rd_kafka_rebalance_protocol(client).map { String(cString: $0) } == "COOPERATIVE"
        // The epochs move before the assignment does: an offset polled before this callback can
        // then never pass for one of the new assignment.
        switch code {
        case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
            advanceEpochs(changed)
            if cooperative { report(rd_kafka_incremental_assign(client, partitions)) } else { rd_kafka_assign(client, partitions) }
            logger.info("partitions assigned", metadata: ["partitions": "\(changed)"])
            append(.assigned(changed))
        case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
            advanceEpochs(changed)
            if cooperative { report(rd_kafka_incremental_unassign(client, partitions)) } else { rd_kafka_assign(client, nil) }
            logger.info("partitions revoked", metadata: ["partitions": "\(changed)"])
            append(.revoked(changed))
        default:
            advanceEpochs(nil)
            rd_kafka_assign(client, nil)
            append(.error(KafkaErrorCode(code), detail: "rebalance failed; all partitions unassigned"))
        }
    }

    private func report(_ error: OpaquePointer?) {
        guard let error else { return }
        logger.error("incremental rebalance failed", metadata: ["reason": "\(String(cString: rd_kafka_error_string(error)))"])
        rd_kafka_error_destroy(error)
    }
}

/// Topic names by topic handle: consecutive messages mostly share a topic, so one String per
/// batch rather than per message.
private struct TopicNameCache {
    private var handle: OpaquePointer?
    private var cached = ""

    mutating func name(of topic: OpaquePointer?) -> String {
        guard let topic else { return "" }
        if topic != handle {
            handle = topic
            cached = String(cString: rd_kafka_topic_name(topic))
        }
        return cached
    }
}

/// The assignment epoch of consecutive messages' partition within one poll: a poll returns runs
/// of one partition, so the epochs are looked up once per run, or again after a rebalance.
private struct EpochCache {
    private var partition: KafkaTopicPartition?
    private var epoch: UInt64 = 0
    private var changes: UInt64 = 0

    mutating func epoch(of partition: KafkaTopicPartition, in callbacks: ConsumerCallbacks) -> UInt64 {
        let changes = callbacks.assignmentChanges.load(ordering: .acquiring)
        if partition == self.partition, changes == self.changes { return epoch }
        epoch = callbacks.assignmentEpoch(of: partition)
        self.partition = partition
        self.changes = changes
        return epoch
    }
}

/// Read progress of bounded `assign` ranges.
struct RangeProgress {
    private var ends: [KafkaTopicPartition: Int64] = [:]
    private var unfinished: Set<KafkaTopicPartition> = []

    init() {}

    init(_ ranges: [KafkaPartitionRange]) {
        for range in ranges {
            guard let end = range.end else { continue }
            let partition = KafkaTopicPartition(topic: range.topic, partition: range.partition)
            ends[partition] = end
            let emptyAtStart = switch range.start {
            case .offset(let start): start >= end
            case .beginning: end <= 0
            case .end, .committed: false
            }
            if !emptyAtStart { unfinished.insert(partition) }
        }
    }

    var isComplete: Bool { !ends.isEmpty && unfinished.isEmpty }

    /// Whether a message at `offset` is inside its range; marks the range done at its last offset.
    mutating func accept(_ partition: KafkaTopicPartition, offset: Int64) -> Bool {
        guard let end = ends[partition] else { return true }
        if offset + 1 >= end { unfinished.remove(partition) }
        return offset < end
    }

    mutating func reachedEnd(_ partition: KafkaTopicPartition, offset: Int64) {
        if let end = ends[partition], offset >= end { unfinished.remove(partition) }
    }
}

/// Which end of a partition `KafkaConsumer.boundaryOffsets` asks for.
public enum KafkaPartitionBoundary: Sendable, CustomStringConvertible {
    /// The first offset the partition still holds (low watermark).
    case start
    /// One past the last offset (high watermark).
    case end

    public var description: String { self == .start ? "start" : "end" }
}
