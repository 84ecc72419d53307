import Engine
import FraudCore
import Foundation
import Server

/// The configuration shared by the payment, wallet and reconciliation services: one typed struct,
/// read from a JSON file (nested objects become dotted keys: `{"postgres": {"url": …}}` is
/// `postgres.url`) and then `WAQITI_*` environment variables (`postgres.url` is
/// `WAQITI_POSTGRES_URL`), validated at start-up with an error naming the key.
public struct ServicesConfiguration: Sendable, Equatable {
    public var postgresURL = PostgresURL(host: "127.0.0.1", port: 5432, username: "postgres", database: "waqiti")
    public var postgresMaxConnections = 20
    public var kafkaBrokers = "127.0.0.1:9092"
    public var paymentsTopic = "payments"
    public var decisionsTopic = "fraud-decisions"
    /// Resolved reviews, published by the payment service and consumed by the wallet.
    public var reviewsTopic = "payment-reviews"
    /// Consumer groups are `<prefix>-payment`, `<prefix>-wallet`, `<prefix>-reconciliation`.
    public var groupIDPrefix = "waqiti"
    public var httpHost = "127.0.0.1"
    /// nil: the service's own default (8081 payment, 8082 wallet, 8084 reconciliation).
    public var httpPort: Int?
    /// Requests a second per credential before 429, as on the engine.
    public var rateLimitPerSecond = 2000
    /// A connection that does nothing this long is closed (`HTTPIdleTimeout`).
    public var httpIdleTimeout = HTTPIdleTimeout.default
    /// API keys accepted in `X-API-Key` (`name:scope+scope:key`, or a bare key with the scope
    /// `score` only), and the ones this service sends to others; secret, environment only.
    public var apiKeys: [APIKey] = []
    /// HS256 secret for JWT bearer tokens; secret, environment only.
    public var jwtSecret: String?
    /// Where the payment service reaches the wallet to hold funds.
    public var walletURL = "http://127.0.0.1:8082"
    /// The engine's HTTP API, for the payment service's optional synchronous scoring.
    public var engineURL = "http://127.0.0.1:8083"
    /// Score synchronously through `POST /v1/score` before falling back to Kafka.
    public var synchronousScoring = false
    public var synchronousScoringTimeout = EventDuration(milliseconds: 250)
    /// How far from the payment service's clock a client's `occurred_at` may be.
    public var occurredAtBounds = OccurredAtBounds.default
    /// A payment with no decision this long after it was published is a reconciliation break.
    public var decisionDeadline = EventDuration.seconds(60)
    /// How often the reconciliation report is written.
    public var reportInterval = EventDuration.seconds(30)
    /// A consumer's failure that is neither known transient nor known permanent
    /// (ConsumerFailure), repeated this many times in a row for the same records, parks them.
    public var unclassifiedFailureLimit = 10
    /// Fault injection (acceptance tests only): the service's consumer exits after this many
    /// batches, each applied to the database but not committed to Kafka. nil in production.
    public var crashBeforeCommitAfterBatches: Int?

    public init() {}

    /// Every key, with its environment variable and whether it is secret (docs/services.md lists the same).
    static let keys: [(key: String, secret: Bool)] = [
        ("postgres.url", false), ("postgres.max_connections", false), ("kafka.brokers", false),
        ("kafka.payments_topic", false), ("kafka.decisions_topic", false), ("kafka.reviews_topic", false), ("kafka.group_id_prefix", false),
        ("http.host", false), ("http.port", false), ("http.rate_limit_per_second", false), ("http.idle_timeout", false), ("http.api_keys", true), ("http.jwt_secret", true),
        ("payment.wallet_url", false), ("payment.engine_url", false), ("payment.synchronous_scoring", false),
        ("payment.synchronous_scoring_timeout", false), ("payment.occurred_at_max_skew", false), ("payment.occurred_at_max_age", false),
        ("reconcile.decision_deadline", false),
        ("reconcile.report_interval", false), ("consumer.unclassified_failure_limit", false), ("faults.crash_before_commit_after_batches", false),
    ]

    static func environmentName(_ key: String) -> String {
        switch key {
        case "http.api_keys": "WAQITI_API_KEYS"
        case "http.jwt_secret": "WAQITI_JWT_SECRET"
        default: "WAQITI_" + key.uppercased().replacingOccurrences(of: ".", with: "_")
        }
    }

    /// Reads `file` (if any), overlays the environment, and validates every value.
    public static func load(file: String?, environment: [String: String]) throws -> ServicesConfiguration {
        var values: [String: (text: String, source: String)] = [:]
        if let file {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw ConfigurationError(key: "(file)", message: "cannot read '\(file)'; check the path given to --config")
            }
            let object: [String: FlatJSON]
            do { object = try JSONDecoder().decode([String: FlatJSON].self, from: data) } catch {
                throw ConfigurationError(key: "(file)", message: "'\(file)' is not a JSON object of settings: \(error)")
            }
            for (key, value) in flatten(object, prefix: "") {
                guard let known = keys.first(where: { $0.key == key }) else {
                    throw ConfigurationError(key: key, message: "unknown setting in '\(file)'; docs/services.md lists every key")
                }
                guard !known.secret else {
                    throw ConfigurationError(key: key, message: "secrets are not read from files; set \(environmentName(key)) instead")
                }
                values[key] = (value, file)
            }
        }
        for (key, _) in keys {
            if let text = environment[environmentName(key)] { values[key] = (text, environmentName(key)) }
        }
        var configuration = ServicesConfiguration()
        for (key, value) in values { try configuration.set(key, value.text, source: value.source) }
        return configuration
    }

    private static func flatten(_ object: [String: FlatJSON], prefix: String) -> [(String, String)] {
        object.flatMap { name, value -> [(String, String)] in
            let key = prefix.isEmpty ? name : "\(prefix).\(name)"
            switch value {
            case .object(let nested): return flatten(nested, prefix: key)
            case .scalar(let text): return [(key, text)]
            }
        }
    }

    mutating func set(_ key: String, _ text: String, source: String) throws {
        func fail(_ message: String) -> ConfigurationError {
            ConfigurationError(key: key, message: "\(message) (from \(source))")
        }
        func integer(_ range: ClosedRange<Int>) throws -> Int {
            guard let value = Int(text.trimmingCharacters(in: .whitespaces)), range.contains(value) else {
                throw fail("'\(text)' is not an integer in \(range.lowerBound)...\(range.upperBound)")
            }
            return value
        }
        func duration() throws -> EventDuration {
            guard let value = EventDuration(parsing: text), value.milliseconds > 0 else {
                throw fail("'\(text)' is not a duration; write e.g. 250ms, 30s, 5m")
            }
            return value
        }
        func url() throws -> String {
            guard text.hasPrefix("http://"), text.count > 7 else { throw fail("'\(text)' is not an http:// URL") }
            return text.hasSuffix("/") ? String(text.dropLast()) : text
        }
        switch key {
        case "postgres.url":
            do { postgresURL = try PostgresURL(parsing: text) } catch { throw fail(error.message) }
        case "postgres.max_connections": postgresMaxConnections = try integer(1...1000)
        case "kafka.brokers":
            guard !text.isEmpty else { throw fail("give host:port pairs separated by commas") }
            kafkaBrokers = text
        case "kafka.payments_topic": paymentsTopic = text
        case "kafka.decisions_topic": decisionsTopic = text
        case "kafka.reviews_topic": reviewsTopic = text
        case "kafka.group_id_prefix":
            guard !text.isEmpty else { throw fail("give a consumer group prefix such as waqiti") }
            groupIDPrefix = text
        case "http.host": httpHost = text
        case "http.port": httpPort = try integer(0...65535)
        case "http.rate_limit_per_second": rateLimitPerSecond = try integer(1...10_000_000)
        case "http.idle_timeout": httpIdleTimeout = .milliseconds(try duration().milliseconds)
        case "http.api_keys":
            do { apiKeys = try APIKey.parseList(text) } catch { throw fail(error.description) }
        case "http.jwt_secret":
            guard text.utf8.count >= 32 else { throw fail("an HS256 secret needs at least 32 bytes; e.g. `openssl rand -hex 32`") }
            jwtSecret = text
        case "payment.wallet_url": walletURL = try url()
        case "payment.engine_url": engineURL = try url()
        case "payment.synchronous_scoring":
            guard let value = Bool(text) else { throw fail("'\(text)' is not true or false") }
            synchronousScoring = value
        case "payment.synchronous_scoring_timeout": synchronousScoringTimeout = try duration()
        case "payment.occurred_at_max_skew":
            let value = try duration()
            // The engine refuses events ahead of its clock by more than its skew bound (1m by
            // default, an hour at most): anything larger here would only hold funds for payments
            // the engine dead-letters.
            guard value.milliseconds <= EventDuration.hours(1).milliseconds else { throw fail("'\(text)' is more than 1h; a payment that far ahead would be dead-lettered by the engine") }
            occurredAtBounds.maximumSkew = value
        case "payment.occurred_at_max_age":
            let value = try duration()
            guard value.milliseconds <= EventDuration.days(366).milliseconds else { throw fail("'\(text)' is more than 366d, the engine's longest window") }
            occurredAtBounds.maximumAge = value
        case "reconcile.decision_deadline": decisionDeadline = try duration()
        case "reconcile.report_interval": reportInterval = try duration()
        case "consumer.unclassified_failure_limit": unclassifiedFailureLimit = try integer(1...1_000_000)
        case "faults.crash_before_commit_after_batches": crashBeforeCommitAfterBatches = try integer(1...1_000_000)
        default: throw fail("unknown setting")
        }
    }

    /// `key = value` lines for the start-up log, secrets shown only as set or not.
    public var redactedDescription: String {
        [
            "postgres.url = \(postgresURL)", "postgres.max_connections = \(postgresMaxConnections)",
            "kafka.brokers = \(kafkaBrokers)", "kafka.payments_topic = \(paymentsTopic)",
            "kafka.decisions_topic = \(decisionsTopic)", "kafka.reviews_topic = \(reviewsTopic)",
            "kafka.group_id_prefix = \(groupIDPrefix)",
            "http.host = \(httpHost)", "http.port = \(httpPort.map(String.init) ?? "(service default)")",
            "http.rate_limit_per_second = \(rateLimitPerSecond)",
            "http.idle_timeout = \(httpIdleTimeout.components.seconds * 1000 + httpIdleTimeout.components.attoseconds / 1_000_000_000_000_000)ms",
            "http.api_keys = \(apiKeys.isEmpty ? "(none)" : apiKeys.map(\.description).joined(separator: ", ") + " (keys redacted)")",
            "http.jwt_secret = \(jwtSecret == nil ? "(none)" : "(set, redacted)")",
            "payment.wallet_url = \(walletURL)", "payment.engine_url = \(engineURL)",
            "payment.synchronous_scoring = \(synchronousScoring)",
            "payment.synchronous_scoring_timeout = \(synchronousScoringTimeout.milliseconds)ms",
            "payment.occurred_at_max_skew = \(occurredAtBounds.maximumSkew)", "payment.occurred_at_max_age = \(occurredAtBounds.maximumAge)",
            "reconcile.decision_deadline = \(decisionDeadline.milliseconds)ms",
            "reconcile.report_interval = \(reportInterval.milliseconds)ms",
            "consumer.unclassified_failure_limit = \(unclassifiedFailureLimit)",
            "faults.crash_before_commit_after_batches = \(crashBeforeCommitAfterBatches.map(String.init) ?? "(off)")",
        ].joined(separator: "\n")
    }
}

/// A configuration file's JSON: nested objects, and scalars kept as the text an environment
/// variable would carry (arrays joined with commas), so both go through the same parsers.
enum FlatJSON: Decodable {
    case object([String: FlatJSON])
    case scalar(String)

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let bool = try? container.decode(Bool.self) {
            self = .scalar(bool ? "true" : "false")
        } else if let integer = try? container.decode(Int64.self) {
            self = .scalar(String(integer))
        } else if let text = try? container.decode(String.self) {
            self = .scalar(text)
        } else if let list = try? container.decode([String].self) {
            self = .scalar(list.joined(separator: ","))
        } else {
            self = .object(try container.decode([String: FlatJSON].self))
        }
    }
}
