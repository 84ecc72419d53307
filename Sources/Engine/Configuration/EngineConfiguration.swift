import Features
import FraudCore

/// Where a velocity feature's windows live.
public enum FeatureStoreKind: String, Sendable, Hashable, CaseIterable {
    /// In-process ring buffers: fastest, but private to one engine instance.
    case memory
    /// Redis: windows shared by every engine instance consuming the topic.
    case redis
}

/// What the engine does with decisions made while some features came from local windows only.
public enum DegradedPolicy: Sendable, Hashable, CustomStringConvertible {
    /// Decide exactly as usual; the decision still says `features_degraded: true`.
    case decide
    /// Turn an `approve` into `review` when the amount converts to more than this many US dollars
    /// (or cannot be converted at all): large payments wait for a human while windows are partial.
    case reviewAbove(usd: Double)
    /// Turn every degraded `approve` into `review`.
    case reviewAll

    public var description: String {
        switch self {
        case .decide: "decide"
        case .reviewAbove(let usd): "review_above(\(usd) USD)"
        case .reviewAll: "review_all"
        }
    }
}

/// Everything `waqiti serve` (and the replay and HTTP paths that share the engine) is configured by.
///
/// Read from an optional JSON file, then overridden key by key from `WAQITI_*` environment
/// variables (`kafka.brokers` ↔ `WAQITI_KAFKA_BROKERS`), then validated; see docs/operations.md.
/// Secrets (API keys, the JWT secret) come from the environment only.
public struct EngineConfiguration: Sendable, Equatable {
    public struct Kafka: Sendable, Equatable {
        public init() {}

        /// Comma-separated `host:port` bootstrap list.
        public var brokers = "127.0.0.1:9092"
        public var paymentsTopic = "payments"
        public var decisionsTopic = "fraud-decisions"
        public var deadLetterTopic = "payments-dlq"
        public var groupID = "waqiti-fraud"
        /// Largest message accepted from `payments`; a larger one goes to the dead-letter topic.
        public var maxMessageBytes = 64 * 1024
    }

    public struct Features: Sendable, Equatable {
        public init() {}

        /// The store of every feature without an override.
        public var store: FeatureStoreKind = .redis
        /// Per-feature store, keyed by the feature's canonical name (`count(card_fingerprint,10m)`).
        public var storeOverrides: [String: FeatureStoreKind] = [:]
        public var redisURL = "redis://127.0.0.1:6379"
        /// How far behind the newest event of a key an event may be and still enter its windows.
        public var allowedLateness: EventDuration = .minutes(5)
        /// How far ahead of this instance's clock an event's `occurred_at` may be (`FutureEventGuard`);
        /// a later one is dead-lettered or refused. Kept well under the lateness: one event dated
        /// ahead raises its keys' watermarks, and the store's clock, by as much.
        public var maxClockSkew: EventDuration = .minutes(1)
        /// How often a degraded engine tries Redis again.
        public var redisProbeInterval: EventDuration = .seconds(2)
        /// Upper bound for opening a Redis connection; a slower connect counts as Redis down.
        public var redisConnectTimeout: EventDuration = .seconds(1)
        /// Upper bound for each Redis read or write of a batch (its window script, the decision
        /// cache's look-up and store). On expiry the batch is decided on local windows
        /// (`features_degraded`), so it must exceed the slowest healthy round trip of the largest
        /// batch, with room for a loaded host; it also bounds how long a dead Redis stalls a batch.
        public var redisCommandTimeout: EventDuration = .seconds(2)

        /// The store `feature` lives in.
        public func store(for feature: FeatureSpec) -> FeatureStoreKind {
            storeOverrides[feature.canonicalName] ?? store
        }
    }

    public struct Batching: Sendable, Equatable {
        public init() {}

        /// Most events scored together (one feature-store round trip, one pass of the model).
        public var maxEvents = 500
        /// How long the consumer waits to fill a batch before scoring what it has.
        public var linger: EventDuration = EventDuration(milliseconds: 5)
        /// Full batches' worth of decisions (`maxInFlight` × `maxEvents` messages) handed to the
        /// producer whose acknowledgement may still be awaited: the broker's round trip overlaps
        /// scoring of the next batches; offsets are still committed in order.
        public var maxInFlight = 8
        /// Bytes of those messages (values, keys and headers) that may await their
        /// acknowledgement at once: dead letters carry up to 512 KiB each, so a burst of them
        /// behind a slow broker would otherwise hold gigabytes. A batch over it is published in
        /// parts that fit; a single message over it goes alone.
        public var maxInFlightBytes = 64 * 1024 * 1024
    }

    public struct Idempotency: Sendable, Equatable {
        public init() {}

        /// Decisions remembered per payment_id, so a redelivery gets the identical decision.
        public var capacity = 1_000_000
        /// How long a decision is remembered (Redis TTL; the in-memory cache is bounded by capacity).
        public var horizon: EventDuration = .hours(24)
    }

    public struct HTTP: Sendable, Equatable {
        public init() {}

        public var host = "127.0.0.1"
        public var port = 8083
        /// Largest request body accepted; larger requests get 413.
        public var maxRequestBytes = 1024 * 1024
        /// Largest number of events in one `POST /v1/score/batch`.
        public var maxBatchEvents = 1000
        /// Requests per second allowed per client credential (token bucket, burst of one second).
        public var rateLimitPerSecond = 2000
        /// A connection on which nothing is read this long, with no response owed, is closed
        /// (`HTTPIdleTimeout` in Server: 75 s, past the 60 s proxies and client pools keep one idle).
        public var idleTimeout = EventDuration.seconds(75)
        /// From `WAQITI_API_KEYS` only: comma-separated `name:scope+scope:key` entries (bare
        /// keys get `APIScope.legacy`).
        public var apiKeys: [APIKey] = []
        /// From `WAQITI_JWT_SECRET` only: the HS256 key for bearer tokens.
        public var jwtSecret: String?
    }

    public var kafka = Kafka()
    public var features = Features()
    public var batching = Batching()
    public var idempotency = Idempotency()
    public var http = HTTP()
    public var degradedPolicy: DegradedPolicy = .reviewAbove(usd: 1000)
    /// Rules file; hot-reloaded on change.
    public var rulesFile = "rules/default.rules"
    /// Model file; nil scores without a model (model_score 0, no contributions).
    public var modelFile: String? = "models/default.json"
    /// The longest a graceful shutdown (SIGTERM) may take to drain before it is cancelled: a
    /// broker that went away never acknowledges what is in flight.
    public var shutdownTimeout: EventDuration = .seconds(30)

    public init() {}
}
