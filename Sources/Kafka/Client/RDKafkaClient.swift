import CRdKafka
import Logging

/// The one owner of an `rd_kafka_t`: creates it from validated properties, routes librdkafka's
/// log and error callbacks to swift-log, and destroys it exactly once. Producer and consumer
/// wrap it; nothing else touches the pointer.
final class RDKafkaClient: @unchecked Sendable {
    // @unchecked: librdkafka handles are thread-safe; `destroy()` is guarded by `isDestroyed`
    // and documented as not racing with other calls.
    let handle: OpaquePointer
    let callbacks: ClientCallbacks
    private let destroyed = AtomicFlag()

    /// - Parameter configure: sets callbacks on the `rd_kafka_conf_t` before `rd_kafka_new`.
    init(
        type: rd_kafka_type_t, properties: [(String, String)], callbacks: ClientCallbacks,
        configure: (OpaquePointer) -> Void = { _ in }
    ) throws(KafkaError) {
        let conf = rd_kafka_conf_new()!
        var errorText = [CChar](repeating: 0, count: 512)
        for (key, value) in properties {
            let result = rd_kafka_conf_set(conf, key, value, &errorText, errorText.count)
            guard result == RD_KAFKA_CONF_OK else {
                rd_kafka_conf_destroy(conf)
                throw .invalidConfiguration(key: key, reason: Self.text(errorText))
            }
        }
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(callbacks).toOpaque())
        rd_kafka_conf_set_log_cb(conf) { client, level, facility, message in
            ClientCallbacks.from(client)?.log(level: level, facility: facility, message: message)
        }
        rd_kafka_conf_set_error_cb(conf) { client, code, reason, opaque in
            ClientCallbacks.from(opaque)?.error(code: code, reason: reason, client: client)
        }
        configure(conf)
        // On success rd_kafka_new owns conf; on failure it stays ours.
        guard let created = rd_kafka_new(type, conf, &errorText, errorText.count) else {
            rd_kafka_conf_destroy(conf)
            throw .clientCreationFailed(reason: Self.text(errorText))
        }
        handle = created
        self.callbacks = callbacks
        if KafkaLibrary.isOlderThanTansuNeeds {
            callbacks.logger.warning(
                "librdkafka runtime is older than the Tansu broker needs; source deploy/local/env.sh to load 2.16",
                metadata: ["librdkafka": "\(KafkaLibrary.version)"])
        }
    }

    private static func text(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    var isDestroyed: Bool { destroyed.isSet }

    /// The client's fatal error (`rd_kafka_fatal_error`), nil while it has none. An atomic read in
    /// librdkafka: cheap enough to ask before every produce.
    func fatalFailure() -> KafkaError? {
        guard !isDestroyed, rd_kafka_fatal_error(handle, nil, 0) != RD_KAFKA_RESP_ERR_NO_ERROR else { return nil }
        return Self.fatalFailure(of: handle)
    }

    /// The fatal error of `handle` with librdkafka's reason, nil when it has none.
    static func fatalFailure(of handle: OpaquePointer) -> KafkaError? {
        var reason = [CChar](repeating: 0, count: 512)
        let code = rd_kafka_fatal_error(handle, &reason, reason.count)
        guard code != RD_KAFKA_RESP_ERR_NO_ERROR else { return nil }
        return .fatal(code: KafkaErrorCode(code), reason: text(reason))
    }

    /// Destroys the handle once; later calls do nothing.
    func destroy() {
        guard destroyed.set() else { return }
        rd_kafka_destroy(handle)
    }

    deinit { destroy() }
}

/// State reachable from librdkafka's C callbacks, which cannot capture: passed as the
/// configuration opaque (`rd_kafka_conf_set_opaque`) and recovered with `Unmanaged`. The client
/// that owns the `rd_kafka_t` keeps this object alive until after `rd_kafka_destroy`.
class ClientCallbacks: @unchecked Sendable {
    let logger: Logger

    init(logger: Logger) { self.logger = logger }

    static func from(_ opaque: UnsafeMutableRawPointer?) -> ClientCallbacks? {
        opaque.map { Unmanaged<ClientCallbacks>.fromOpaque($0).takeUnretainedValue() }
    }

    static func from(_ client: OpaquePointer?) -> ClientCallbacks? {
        client.flatMap { from(rd_kafka_opaque($0)) }
    }

    func log(level: Int32, facility: UnsafePointer<CChar>?, message: UnsafePointer<CChar>?) {
        let text = message.map { String(cString: $0) } ?? ""
        let metadata: Logger.Metadata = ["facility": "\(facility.map { String(cString: $0) } ?? "")"]
        // syslog levels: 0-3 error and worse, 4 warning, 5-6 notice/info, 7 debug.
        switch level {
        case ...3: logger.error("\(text)", metadata: metadata)
        case 4: logger.warning("\(text)", metadata: metadata)
        case 5...6: logger.info("\(text)", metadata: metadata)
        default: logger.debug("\(text)", metadata: metadata)
        }
    }

    func error(code: Int32, reason: UnsafePointer<CChar>?, client: OpaquePointer?) {
        let code = KafkaErrorCode(rawValue: code)
        if code.isFatal {
            // Not one of the errors librdkafka retries: the client is dead, and whoever uses it
            // learns so from its next call (`KafkaError.fatal`).
            let fatal = client.flatMap { RDKafkaClient.fatalFailure(of: $0) }
            logger.critical("librdkafka: fatal error; this client cannot recover", metadata: [
                "code": "\(code.name)", "error": "\(fatal.map { "\($0)" } ?? reason.map { String(cString: $0) } ?? code.message)",
            ])
            return
        }
        logger.warning("librdkafka: \(reason.map { String(cString: $0) } ?? code.message)", metadata: ["code": "\(code.name)"])
    }
}
