import CRdKafka
import Foundation
import Logging

/// Produces records and reports, per batch, when the broker has acknowledged every one of them.
///
/// The engine's at-least-once contract rests on `send(_:)`: it returns only after each message
/// has a delivery report, so consumer offsets can be committed afterwards. Delivery reports are
/// served by a dedicated polling thread (never the cooperative pool). Thread-safe: any number of
/// tasks may `send` concurrently. Call `close(timeout:)` once, after the last `send`.
public final class KafkaProducer: Sendable {
    public let configuration: KafkaProducerConfiguration
    private let client: RDKafkaClient
    private let tracker: DeliveryTracker
    private let poller: PollingThread

    public init(configuration: KafkaProducerConfiguration, logger: Logger = Logger(label: "waqiti.kafka.producer")) throws(KafkaError) {
        self.configuration = configuration
        let tracker = DeliveryTracker()
        let callbacks = ProducerCallbacks(logger: logger, tracker: tracker)
        client = try RDKafkaClient(type: RD_KAFKA_PRODUCER, properties: configuration.properties(), callbacks: callbacks) { conf in
            rd_kafka_conf_set_dr_msg_cb(conf) { _, message, opaque in
                guard let message, let callbacks = ClientCallbacks.from(opaque) as? ProducerCallbacks else { return }
                let error = message.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR ? nil : KafkaErrorCode(message.pointee.err)
                callbacks.tracker.record(
                    opaque: message.pointee._private, partition: message.pointee.partition, offset: message.pointee.offset, error: error)
            }
        }
        self.tracker = tracker
        let handle = KafkaHandle(client.handle)
        poller = PollingThread(name: "kafka-producer") { rd_kafka_poll(handle.pointer, 50) }
    }

    deinit {
        poller.stop()
        client.destroy()
    }

    /// Produces `messages` and waits until the broker acknowledged every one (or librdkafka gave
    /// up after `messageTimeout`). Returns where each landed, in input order.
    ///
    /// - Throws: `KafkaError.deliveryFailed` listing every message that was not acknowledged
    ///   (the others were); `KafkaError.closed` after `close`.
    public func send(_ messages: [KafkaProducerMessage]) async throws(KafkaError) -> [KafkaAcknowledgement] {
        try await enqueue(messages).acknowledgements()
    }

    /// Hands `messages` to librdkafka in order and returns without waiting for the broker, so a
    /// caller can keep several batches in flight and still learn, per batch, when all of it
    /// landed. Batches enqueued one after another keep their order per partition.
    ///
    /// - Throws: `KafkaError.closed` after `close`; `KafkaError.fatal` once the producer hit a
    ///   fatal error (see `fatalFailure`). A message that cannot even be queued is not thrown
    ///   here: it fails the returned delivery, like one the broker rejected.
    public func enqueue(_ messages: [KafkaProducerMessage]) async throws(KafkaError) -> KafkaDelivery {
        guard !client.isDestroyed else { throw .closed }
        if let fatal = client.fatalFailure() { throw fatal }
        // An empty batch registers nothing: its delivery answers at once.
        guard !messages.isEmpty else { return KafkaDelivery(tracker: tracker, client: client, batch: 0, topics: []) }
        let batch = tracker.open(count: messages.count)
        for (index, message) in messages.enumerated() {
            let opaque = DeliveryTracker.opaque(batch: batch, index: index)
            // The usual case queues at once, with no suspension point per message.
            var code = produce(message, opaque: opaque)
            if code == .queueFull { code = await enqueueWhenRoom(message, opaque: opaque) }
            if let code {
                tracker.record(batch: batch, index: index, partition: -1, offset: -1, error: code)
            }
        }
        return KafkaDelivery(tracker: tracker, client: client, batch: batch, topics: messages.map(\.topic))
    }

    /// The producer's fatal error, nil while it has none. After one (an idempotent producer that
    /// can no longer keep its guarantees) librdkafka fails every produce with `_FATAL`; only a new
    /// producer recovers, so a caller should stop and report it (health DOWN, exit non-zero).
    public var fatalFailure: KafkaError? { client.fatalFailure() }

    /// Raises a fabricated fatal error (`rd_kafka_test_fatal_error`), as an idempotent producer
    /// raises a real one: for tests of what the caller does then. librdkafka prefixes `reason`
    /// with `test_fatal_error: `.
    func triggerFatalErrorForTesting(_ code: KafkaErrorCode, reason: String) {
        _ = rd_kafka_test_fatal_error(client.handle, rd_kafka_resp_err_t(rawValue: code.rawValue), reason)
    }

    /// Waits until every queued message is delivered or failed.
    public func flush(timeout: Duration) throws(KafkaError) {
        guard !client.isDestroyed else { throw .closed }
        let code = rd_kafka_flush(client.handle, Int32(clamping: timeout.milliseconds))
        if code == RD_KAFKA_RESP_ERR__TIMED_OUT {
            throw .timeout(operation: "flush (\(rd_kafka_outq_len(client.handle)) messages still queued)", after: timeout)
        }
    }

    /// Flushes, stops the polling thread and destroys the client. Later calls throw `closed`.
    public func close(timeout: Duration = .seconds(10)) throws(KafkaError) {
        guard !client.isDestroyed else { return }
        defer {
            poller.stop()
            client.destroy()
        }
        try flush(timeout: timeout)
    }

    /// Hands one message that found librdkafka's local queue full to librdkafka (which copies
    /// it), retrying every millisecond until `messageTimeout` or until the task is cancelled;
    /// returns the error code when the message cannot be queued.
    private func enqueueWhenRoom(_ message: KafkaProducerMessage, opaque: UnsafeMutableRawPointer) async -> KafkaErrorCode? {
        let deadline = ContinuousClock.now + configuration.messageTimeout
        while true {
            guard ContinuousClock.now < deadline, !client.isDestroyed, !Task.isCancelled else { return .queueFull }
            try? await Task.sleep(for: .milliseconds(1))
            let code = produce(message, opaque: opaque)
            guard code == .queueFull else { return code }
        }
    }

    private func produce(_ message: KafkaProducerMessage, opaque: UnsafeMutableRawPointer) -> KafkaErrorCode? {
        // Header names as one NUL-separated buffer, so all pointers can be taken at once.
        var names: [CChar] = []
        var nameStarts: [Int] = []
        for header in message.headers {
            nameStarts.append(names.count)
            names.append(contentsOf: header.name.utf8CString)
        }
        let flattenedValues = message.headers.flatMap { $0.value ?? [] }
        return message.topic.withCString { topic in
            message.value.withUnsafeBytes { value in
                (message.key ?? []).withUnsafeBytes { key in
                    names.withUnsafeBufferPointer { names in
                        flattenedValues.withUnsafeBytes { headerValues in
                            // On the stack: no allocation per message.
                            withUnsafeTemporaryAllocation(of: rd_kafka_vu_t.self, capacity: 6 + message.headers.count) { storage in
                                var fields = FieldList(storage)
                                fields.append(.field(RD_KAFKA_VTYPE_TOPIC) { $0.cstr = topic })
                                fields.append(.field(RD_KAFKA_VTYPE_PARTITION) { $0.i32 = message.partition ?? RD_KAFKA_PARTITION_UA })
                                fields.append(.field(RD_KAFKA_VTYPE_MSGFLAGS) { $0.i = RD_KAFKA_MSG_F_COPY })
                                fields.append(.field(RD_KAFKA_VTYPE_VALUE) {
                                    $0.mem.ptr = UnsafeMutableRawPointer(mutating: value.baseAddress)
                                    $0.mem.size = value.count
                                })
                                if message.key != nil {
                                    fields.append(.field(RD_KAFKA_VTYPE_KEY) {
                                        $0.mem.ptr = UnsafeMutableRawPointer(mutating: key.baseAddress)
                                        $0.mem.size = key.count
                                    })
                                }
                                fields.append(.field(RD_KAFKA_VTYPE_OPAQUE) { $0.ptr = opaque })
                                var valueStart = 0
                                for (index, header) in message.headers.enumerated() {
                                    let size = header.value?.count ?? 0
                                    let start = valueStart
                                    fields.append(.field(RD_KAFKA_VTYPE_HEADER) {
                                        $0.header.name = names.baseAddress! + nameStarts[index]
                                        $0.header.val = header.value == nil ? nil : UnsafeRawPointer(headerValues.baseAddress.map { $0 + start } ?? UnsafeRawPointer(names.baseAddress!))
                                        $0.header.size = header.value == nil ? -1 : size
                                    })
                                    valueStart += size
                                }
                                guard let error = rd_kafka_produceva(client.handle, storage.baseAddress, fields.count) else { return nil }
                                defer { rd_kafka_error_destroy(error) }
                                return KafkaErrorCode(rd_kafka_error_code(error))
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `rd_kafka_vu_t` fields written one after another into temporary storage.
private struct FieldList {
    let storage: UnsafeMutableBufferPointer<rd_kafka_vu_t>
    private(set) var count = 0

    init(_ storage: UnsafeMutableBufferPointer<rd_kafka_vu_t>) { self.storage = storage }

    mutating func append(_ field: rd_kafka_vu_t) {
        precondition(count < storage.count, "more produce fields than the storage was sized for")
        (storage.baseAddress! + count).initialize(to: field)
        count += 1
    }
}

extension rd_kafka_vu_t {
    static func field(_ type: rd_kafka_vtype_t, _ set: (inout rd_kafka_vu_t.__Unnamed_union_u) -> Void) -> rd_kafka_vu_t {
        var field = rd_kafka_vu_t()
        field.vtype = type
        set(&field.u)
        return field
    }
}

/// One enqueued batch of `KafkaProducer.enqueue(_:)`, awaiting its delivery reports.
public struct KafkaDelivery: Sendable {
    private let tracker: DeliveryTracker
    private let client: RDKafkaClient
    private let batch: UInt32
    private let topics: [String]

    init(tracker: DeliveryTracker, client: RDKafkaClient, batch: UInt32, topics: [String]) {
        self.tracker = tracker
        self.client = client
        self.batch = batch
        self.topics = topics
    }

    /// Waits until every message of the batch has a delivery report; where each landed, in
    /// input order. Call it once.
    ///
    /// - Throws: `KafkaError.deliveryFailed` listing every message that was not acknowledged
    ///   (the others were); `KafkaError.cancelled` when the waiting task is cancelled first (the
    ///   messages may still be delivered); `KafkaError.fatal` instead when the producer hit a fatal error (its
    ///   queued messages then fail with `_PURGE_QUEUE` or `_FATAL`, and so would any retry).
    public func acknowledgements() async throws(KafkaError) -> [KafkaAcknowledgement] {
        guard !topics.isEmpty else { return [] }
        guard let outcome = await tracker.wait(batch: batch) else { throw .cancelled(operation: "wait for the acknowledgement of \(topics.count) messages") }
        if !outcome.failures.isEmpty {
            if let fatal = client.fatalFailure() { throw fatal }
            let failures = outcome.failures.sorted { $0.index < $1.index }
                .map { KafkaDeliveryFailure(index: $0.index, topic: topics[$0.index], code: $0.code) }
            throw .deliveryFailed(failures: failures, batchSize: topics.count)
        }
        return topics.indices.map {
            KafkaAcknowledgement(topic: topics[$0], partition: outcome.partitions[$0], offset: outcome.offsets[$0])
        }
    }
}

/// Producer state for the delivery-report callback.
final class ProducerCallbacks: ClientCallbacks, @unchecked Sendable {
    let tracker: DeliveryTracker

    init(logger: Logger, tracker: DeliveryTracker) {
        self.tracker = tracker
        super.init(logger: logger)
    }
}

/// An `rd_kafka_t` pointer that may cross threads (librdkafka handles are thread-safe).
struct KafkaHandle: @unchecked Sendable {
    let pointer: OpaquePointer
    init(_ pointer: OpaquePointer) { self.pointer = pointer }
}

extension Duration {
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
