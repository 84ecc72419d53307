import Dispatch
import Features
import Foundation
import FraudCore
import Kafka
import Logging
import Metrics
import Model
import Redis
import Rules
import ServiceLifecycle
import ThreadName

/// Everything `waqiti serve` runs, built from one configuration: the rules and model watchers,
/// the feature stores, the engine, and (unless HTTP-only) the Kafka pipeline. The HTTP server
/// is added by the caller, which owns the transport.
public final class EngineRuntime: Sendable {
    public let configuration: EngineConfiguration
    public let engine: DecisionEngine
    /// The rules watcher's set, refusing reloads that change the exchange rates.
    public let rules: EngineRules
    public let model: ModelWatcher?
    /// Start-up advice to print (partition-aware warnings, a missing default model).
    public let warnings: [String]
    public let services: [any Service]
    public let health: [HealthIndicator]
    let consumer: KafkaConsumer?
    let producer: KafkaProducer?
    private let logger: Logger

    public enum StartError: Error, CustomStringConvertible {
        case rules(String)
        case model(String)
        case configuration(ConfigurationError)
        case kafka(String)

        public var description: String {
            switch self {
            case .rules(let why): "rules: \(why)"
            case .model(let why): "model: \(why)"
            case .configuration(let error): error.description
            case .kafka(let why): "kafka: \(why)"
            }
        }
    }

    /// - Parameters:
    ///   - withKafka: false serves HTTP only (no consumer, producer or pipeline).
    ///   - metricsFactory: where the engine's series go; the process-wide backend unless a test
    ///     passes its own.
    ///   - consumerLagInterval: how often `waqiti_consumer_lag_messages` is measured.
    public init(
        configuration: EngineConfiguration, withKafka: Bool, logger: Logger,
        metricsFactory: any MetricsFactory = MetricsSystem.factory, consumerLagInterval: Duration = .seconds(5)
    ) throws {
        self.configuration = configuration
        self.logger = logger
        var warnings: [String] = []
        let metrics = EngineMetrics(factory: metricsFactory)
        let rules: EngineRules
        do {
            rules = try EngineRules(rulesFile: configuration.rulesFile, logger: logger, metricsFactory: metricsFactory)
        } catch {
            throw StartError.rules(error.lines.joined(separator: "\n"))
        }
        var loadedModel: ModelWatcher?
        if let path = configuration.modelFile {
            if path == EngineConfiguration().modelFile, !FileManager.default.fileExists(atPath: path) {
                warnings.append("no model at \(path) (the default): scoring with rules only; train one with `waqiti train` or set model.file")
            } else {
                do {
                    // The watcher counts its reloads and failures itself, in this registry.
                    loadedModel = try ModelWatcher(
                        path: path, basePlan: rules.current.featurePlan, rates: rules.current.rates, metricsFactory: metricsFactory
                    ) { event in
                        switch event {
                        case .reloaded(let version):
                            logger.notice("model reloaded", metadata: ["model_version": "\(version)"])
                        case .rejected(let error):
                            logger.error("model file rejected; the last good model stays live", metadata: ["error": "\(error)"])
                        }
                    }
                } catch {
                    throw StartError.model("\(error)")
                }
            }
        }
        let model = loadedModel
        self.rules = rules
        self.model = model

        let features = configuration.features
        let local = InMemoryFeatureStore(configuration: .init(lateness: features.allowedLateness, rates: rules.current.rates))
        let usesRedis = features.store == .redis || features.storeOverrides.values.contains(.redis)
        var shared: RedisFeatureStore?
        var redisConfiguration: RedisConfiguration?
        if usesRedis {
            do {
                redisConfiguration = try RedisConfiguration(
                    url: features.redisURL, connectTimeout: .milliseconds(features.redisConnectTimeout.milliseconds),
                    commandTimeout: .milliseconds(features.redisCommandTimeout.milliseconds))
            } catch {
                throw StartError.configuration(ConfigurationError(key: "redis.url", source: "configuration", problem: "\(error)", fix: "write redis://host:port, e.g. redis://127.0.0.1:6379"))
            }
            shared = RedisFeatureStore(configuration: redisConfiguration!, lateness: features.allowedLateness, rates: rules.current.rates)
        }
        var ping: RecoveryProbe.Ping?
        if let shared { ping = { await shared.ping() } }
        let router = FeatureRouter(
            local: local, shared: shared, storeOf: { features.store(for: $0) },
            probeInterval: .milliseconds(features.redisProbeInterval.milliseconds),
            ping: ping, logger: logger,
            onStateChange: { metrics.recordSharedStore($0) }
        )
        let localDecisions = InMemoryDecisionCache(capacity: configuration.idempotency.capacity)
        var decisionCache: any DecisionCache = localDecisions
        var redisDecisions: RedisDecisionCache?
        if let redisConfiguration {
            let cache = RedisDecisionCache(
                store: RedisDecisionStore(configuration: redisConfiguration), local: localDecisions,
                horizon: .milliseconds(configuration.idempotency.horizon.milliseconds),
                probeInterval: .milliseconds(features.redisProbeInterval.milliseconds), logger: logger,
                onStateChange: { metrics.recordDecisionCache(degraded: $0) }
            )
            redisDecisions = cache
            decisionCache = cache
        }
        engine = DecisionEngine(
            rules: { rules.current }, model: { model?.current }, features: router,
            cache: decisionCache,
            degradedPolicy: configuration.degradedPolicy, metrics: metrics, logger: logger
        )
        let plan = engine.currentPlan
        warnings += PartitionAdvice.warnings(plan: plan, features: features)
        for name in PartitionAdvice.unknownOverrides(plan: plan, features: features) {
            warnings.append("features.store_overrides names \(name), which no rule or model feature uses; check its spelling against GET /v1/rules")
        }

        var services: [any Service] = [LoopService(name: "rules-watcher") { try await rules.run() }]
        if let model { services.append(LoopService(name: "model-watcher") { await model.run() }) }
        var health = [
            HealthIndicator(name: "rules") {
                ComponentHealth(name: "rules", status: .up, detail: "version \(rules.current.version), \(rules.current.ruleNames.count) rules and thresholds")
            },
            HealthIndicator(name: "model") {
                guard let model else { return ComponentHealth(name: "model", status: .up, detail: "no model configured: rules only") }
                return ComponentHealth(name: "model", status: .up, detail: "version \(model.current.version), \(model.reloadFailures) rejected reloads")
            },
            EngineRuntime.redisHealth(configuration: redisConfiguration, router: router, decisions: redisDecisions),
        ]
        if withKafka {
            try Self.checkTopics(configuration.kafka)
            let client = KafkaClientConfiguration(brokers: configuration.kafka.brokers, clientID: "waqiti-engine")
            var consumerConfiguration = KafkaConsumerConfiguration(client: client, groupID: configuration.kafka.groupID)
            consumerConfiguration.fetchWaitMax = .milliseconds(max(1, configuration.batching.linger.milliseconds))
            do {
                let consumer = try KafkaConsumer(configuration: consumerConfiguration, logger: logger)
                try consumer.subscribe(topics: [configuration.kafka.paymentsTopic])
                let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: client), logger: logger)
                self.consumer = consumer
                self.producer = producer
                let positions = PartitionPositions()
                services.append(StreamingPipeline(
                    source: KafkaMessageSource(consumer: consumer, positions: positions, logger: logger), sink: KafkaMessageSink(producer: producer),
                    engine: engine, settings: .init(configuration: configuration), logger: logger
                ))
                services.append(ConsumerLagMonitor(
                    positions: positions, offsets: KafkaPartitionOffsets(consumer: consumer), metrics: metrics,
                    interval: consumerLagInterval, logger: logger
                ))
                let topic = configuration.kafka.paymentsTopic
                health.append(HealthIndicator(name: "kafka", blocking: {
                    // A client with a fatal error answers watermark requests as if healthy, but
                    // publishes nothing ever again; the pipeline stops the process on it, and
                    // until then health must not say UP.
                    if let fatal = producer.fatalFailure ?? consumer.fatalFailure {
                        return ComponentHealth(name: "kafka", status: .down, detail: "\(configuration.kafka.brokers): \(fatal)")
                    }
                    do {
                        let marks = try consumer.watermarks(topic: topic, partition: 0, timeout: .seconds(1))
                        return ComponentHealth(name: "kafka", status: .up, detail: "\(configuration.kafka.brokers): \(topic)[0] high watermark \(marks.high)")
                    } catch {
                        return ComponentHealth(name: "kafka", status: .down, detail: "\(configuration.kafka.brokers): \(error)")
                    }
                }))
            } catch {
                throw StartError.kafka("\(error)")
            }
        } else {
            consumer = nil
            producer = nil
        }
        self.services = services
        self.health = health
        self.warnings = warnings
    }

    /// The payments, decisions and dead-letter topics must be three topics. A dead-letter topic
    /// that is the payments topic feeds every dead letter back in as a payment, which is
    /// dead-lettered again, forever (one malformed message became hundreds a second); decisions
    /// published to the payments topic are read back and dead-lettered; dead letters on the
    /// decisions topic reach the decisions' consumers as malformed decisions.
    static func checkTopics(_ kafka: EngineConfiguration.Kafka) throws(StartError) {
        let topics = [
            ("kafka.payments_topic", kafka.paymentsTopic, "payments"),
            ("kafka.decisions_topic", kafka.decisionsTopic, "fraud-decisions"),
            ("kafka.dlq_topic", kafka.deadLetterTopic, "payments-dlq"),
        ]
        for (index, (key, topic, suggestion)) in topics.enumerated() {
            guard let (earlierKey, _, _) = topics[..<index].first(where: { $0.1 == topic }) else { continue }
            let consequence = earlierKey == "kafka.payments_topic"
                ? "the engine would read what it publishes back as payments"
                : "dead letters would reach the decisions' consumers as malformed decisions"
            throw .configuration(ConfigurationError(
                key: key, source: "configuration",
                problem: "\"\(topic)\" is also \(earlierKey): \(consequence)",
                fix: "give \(key) a topic of its own, such as \(suggestion)"
            ))
        }
    }

    /// After the service group returned: flushes what the producer holds and leaves the group,
    /// within `limit` in all (two thirds of it for the flush). After a shutdown cut short the
    /// broker may be gone, and neither call may hold the process's exit for long: past the
    /// limit this returns without them (the process is about to exit; the group then notices the
    /// member is gone after its session timeout).
    public func close(within limit: Duration = .seconds(15)) {
        let (seconds, attoseconds) = limit.components
        let limitSeconds = Double(seconds) + Double(attoseconds) / 1e18
        let done = DispatchSemaphore(value: 0)
        let thread = Thread { [self] in
            ThreadName.setCurrent("kafka-close")
            closeNow(flushTimeout: .milliseconds(Int64(limitSeconds * 1000 * 2 / 3)))
            done.signal()
        }
        thread.start()
        if done.wait(timeout: .now() + limitSeconds) == .timedOut {
            logger.warning("closing the Kafka clients did not finish within \(limit); exiting without leaving the consumer group (its session timeout moves the partitions)")
        }
    }

    private func closeNow(flushTimeout: Duration) {
        do {
            try producer?.close(timeout: flushTimeout)
        } catch {
            // Nothing is lost: offsets are committed only for acknowledged decisions, so the
            // next start decides these events again. Said, so a slow shutdown is not a mystery.
            logger.warning("decisions still unacknowledged at shutdown; their events are decided again on the next start", metadata: [
                "error": "\(error)",
            ])
        }
        consumer?.close()
    }

    private static func redisHealth(configuration: RedisConfiguration?, router: FeatureRouter, decisions: RedisDecisionCache?) -> HealthIndicator {
        HealthIndicator(name: "redis", blocking: {
            guard let configuration else { return ComponentHealth(name: "redis", status: .up, detail: "not used: every feature is in memory") }
            // Ask Redis now rather than report the last batch: with no traffic the state could be stale.
            let reachable: String?
            do {
                let connection = try RedisConnection(configuration: configuration)
                _ = try connection.send(RedisCommand("PING"))
                connection.disconnect()
                reachable = nil
            } catch {
                reachable = "\(error)"
            }
            switch (reachable, router.sharedState, decisions?.unavailableReason) {
            case (let error?, _, _):
                return ComponentHealth(name: "redis", status: .degraded, detail: "\(configuration.host):\(configuration.port) unreachable (\(error)); deciding on local windows and remembering decisions in this instance", requiredForReadiness: false)
            case (nil, .degraded(let reason), _):
                return ComponentHealth(name: "redis", status: .degraded, detail: "reachable again; the next probe ends degraded mode (last failure: \(reason))", requiredForReadiness: false)
            case (nil, _, let reason?):
                return ComponentHealth(name: "redis", status: .degraded, detail: "reachable again; the next probe brings the decision cache back (last failure: \(reason))", requiredForReadiness: false)
            default:
                return ComponentHealth(name: "redis", status: .up, detail: "\(configuration.host):\(configuration.port)", requiredForReadiness: false)
            }
        })
    }
}
