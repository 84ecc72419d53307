import FraudCore
import Foundation

/// One configuration key: its file name, its environment variable, how to read and show it.
/// The table below is the single list of keys; docs/operations.md documents the same list.
struct ConfigurationSetting: Sendable {
    let key: String
    let environmentName: String
    /// Read from the environment only and never printed.
    let secret: Bool
    let apply: @Sendable (inout EngineConfiguration, ConfigurationValue, String) throws -> Void
    let render: @Sendable (EngineConfiguration) -> String

    init(
        _ key: String, env: String? = nil, secret: Bool = false,
        apply: @escaping @Sendable (inout EngineConfiguration, ConfigurationValue, String) throws -> Void,
        render: @escaping @Sendable (EngineConfiguration) -> String
    ) {
        self.key = key
        self.environmentName = env ?? "WAQITI_" + key.uppercased().replacingOccurrences(of: ".", with: "_")
        self.secret = secret
        self.apply = apply
        self.render = render
    }

    /// Keys whose value is a JSON object rather than a group of further keys.
    static let objectKeys: Set<String> = ["features.store_overrides"]

    static let all: [ConfigurationSetting] = [
        text("kafka.brokers", \.kafka.brokers, fix: "give host:port pairs separated by commas, e.g. 127.0.0.1:9092"),
        text("kafka.payments_topic", \.kafka.paymentsTopic, fix: "name the topic payment events arrive on"),
        text("kafka.decisions_topic", \.kafka.decisionsTopic, fix: "name the topic decisions are published to"),
        text("kafka.dlq_topic", \.kafka.deadLetterTopic, fix: "name the topic malformed events are sent to"),
        text("kafka.group_id", \.kafka.groupID, fix: "name the consumer group, e.g. waqiti-fraud"),
        integer("kafka.max_message_bytes", \.kafka.maxMessageBytes, in: 256...16_777_216, fix: "use a size in bytes such as 65536"),
        text("redis.url", \.features.redisURL, fix: "write redis://host:port, e.g. redis://127.0.0.1:6379"),
        duration("redis.probe_interval", \.features.redisProbeInterval, fix: "write a duration such as 2s"),
        duration("redis.connect_timeout", \.features.redisConnectTimeout, in: EventDuration(milliseconds: 1)...(.seconds(60)), fix: "write a duration such as 1s"),
        duration("redis.command_timeout", \.features.redisCommandTimeout, in: EventDuration(milliseconds: 1)...(.seconds(60)), fix: "write a duration such as 2s"),
        ConfigurationSetting("features.store", apply: { config, value, source in
            config.features.store = try storeKind(value, key: "features.store", source: source)
        }, render: { $0.features.store.rawValue }),
        ConfigurationSetting("features.store_overrides", apply: { config, value, source in
            config.features.storeOverrides = try storeOverrides(value, source: source)
        }, render: { config in
            config.features.storeOverrides.isEmpty ? "{}" :
                config.features.storeOverrides.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.rawValue)" }.joined(separator: ";")
        }),
        duration("features.allowed_lateness", \.features.allowedLateness, fix: "write a duration such as 5m"),
        duration("features.max_clock_skew", \.features.maxClockSkew, in: EventDuration(milliseconds: 0)...(.hours(24)),
                 fix: "write a duration from 0s to 24h such as 1m (how far ahead of this instance's clock an event may be dated)"),
        integer("batch.max_events", \.batching.maxEvents, in: 1...100_000, fix: "use a batch size such as 500"),
        // 0 makes an idle consumer poll without waiting, spinning a core; the upper bound is
        // librdkafka's for fetch.wait.max.ms, which linger also sets.
        duration("batch.linger", \.batching.linger, in: EventDuration(milliseconds: 1)...EventDuration(milliseconds: 300_000),
                 fix: "write a duration from 1ms to 5m such as 5ms (0 would poll without waiting and spin a core while idle)"),
        integer("batch.max_in_flight", \.batching.maxInFlight, in: 1...64, fix: "use a count of batches such as 8"),
        integer("batch.max_in_flight_bytes", \.batching.maxInFlightBytes, in: 65_536...17_179_869_184, fix: "use a size in bytes such as 67108864 (64 MiB)"),
        integer("idempotency.capacity", \.idempotency.capacity, in: 1...100_000_000, fix: "use a count of decisions such as 1000000"),
        duration("idempotency.horizon", \.idempotency.horizon, fix: "write a duration such as 24h"),
        text("http.host", \.http.host, fix: "give the address to listen on, e.g. 127.0.0.1 or 0.0.0.0"),
        integer("http.port", \.http.port, in: 0...65535, fix: "use a free TCP port such as 8083 (0 picks any free port)"),
        integer("http.max_request_bytes", \.http.maxRequestBytes, in: 1024...67_108_864, fix: "use a size in bytes such as 1048576"),
        integer("http.max_batch_events", \.http.maxBatchEvents, in: 1...100_000, fix: "use a count such as 1000"),
        integer("http.rate_limit_per_second", \.http.rateLimitPerSecond, in: 1...10_000_000, fix: "use a request rate such as 2000"),
        duration("http.idle_timeout", \.http.idleTimeout, in: .seconds(1)...(.hours(1)),
                 fix: "write a duration from 1s to 1h such as 75s (longer than the idle time of the proxy's and clients' connection pools)"),
        ConfigurationSetting("http.api_keys", env: "WAQITI_API_KEYS", secret: true, apply: { config, value, source in
            let text = try string(value, key: "http.api_keys", source: source, fix: "separate keys with commas")
            do {
                config.http.apiKeys = try APIKey.parseList(text)
            } catch let error as APIKeyProblem {
                throw ConfigurationError(key: "http.api_keys", source: source, problem: error.problem, fix: error.fix)
            }
        }, render: { $0.http.apiKeys.isEmpty ? "(none)" : $0.http.apiKeys.map(\.description).joined(separator: ", ") + " (keys redacted)" }),
        ConfigurationSetting("http.jwt_secret", env: "WAQITI_JWT_SECRET", secret: true, apply: { config, value, source in
            let secret = try string(value, key: "http.jwt_secret", source: source, fix: "set a random secret")
            guard secret.utf8.count >= 32 else {
                throw ConfigurationError(key: "http.jwt_secret", source: source, problem: "an HS256 secret of \(secret.utf8.count) bytes is shorter than the 32 the algorithm needs", fix: "use at least 32 random bytes, e.g. from `openssl rand -hex 32`")
            }
            config.http.jwtSecret = secret
        }, render: { $0.http.jwtSecret == nil ? "(none)" : "(set, redacted)" }),
        ConfigurationSetting("degraded.policy", apply: { config, value, source in
            let name = try string(value, key: "degraded.policy", source: source, fix: "use decide, review_above or review_all")
            switch name {
            case "decide": config.degradedPolicy = .decide
            case "review_all": config.degradedPolicy = .reviewAll
            case "review_above":
                if case .reviewAbove = config.degradedPolicy { return }
                config.degradedPolicy = .reviewAbove(usd: 1000)
            default:
                throw ConfigurationError(key: "degraded.policy", source: source, problem: "unknown policy \"\(name)\"", fix: "use decide, review_above or review_all")
            }
        }, render: { config in
            switch config.degradedPolicy {
            case .decide: "decide"
            case .reviewAll: "review_all"
            case .reviewAbove: "review_above"
            }
        }),
        ConfigurationSetting("degraded.review_above_usd", apply: { config, value, source in
            let usd = try number(value, key: "degraded.review_above_usd", source: source, fix: "use an amount in US dollars such as 1000")
            guard usd >= 0 else {
                throw ConfigurationError(key: "degraded.review_above_usd", source: source, problem: "negative amount \(value.shown)", fix: "use an amount in US dollars such as 1000")
            }
            if case .reviewAbove = config.degradedPolicy { config.degradedPolicy = .reviewAbove(usd: usd) }
        }, render: { config in
            if case .reviewAbove(let usd) = config.degradedPolicy { return String(usd) }
            return "(unused by this policy)"
        }),
        text("rules.file", \.rulesFile, fix: "give the path of a rules file, e.g. rules/default.rules"),
        ConfigurationSetting("model.file", apply: { config, value, source in
            let path = try string(value, key: "model.file", source: source, fix: "give the path of a model file, or none")
            config.modelFile = path.isEmpty || path == "none" ? nil : path
        }, render: { $0.modelFile ?? "none" }),
        duration("shutdown.timeout", \.shutdownTimeout, in: .seconds(1)...(.hours(1)),
                 fix: "write a duration from 1s to 1h such as 30s (how long SIGTERM may drain before what is in flight is given up)"),
    ]

    /// The known key closest to a misspelt one, when it is close enough to be a plausible typo.
    static func closestKey(to key: String) -> String? {
        let best = all.map { ($0.key, editDistance($0.key, key)) }.min { $0.1 < $1.1 }
        guard let best, best.1 <= max(2, key.count / 4) else { return nil }
        return best.0
    }
}

// MARK: - Typed readers

extension ConfigurationSetting {
    static func text(_ key: String, _ path: WritableKeyPath<EngineConfiguration, String> & Sendable, fix: String) -> ConfigurationSetting {
        ConfigurationSetting(key, apply: { config, value, source in
            let text = try string(value, key: key, source: source, fix: fix)
            guard !text.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw ConfigurationError(key: key, source: source, problem: "empty value", fix: fix)
            }
            config[keyPath: path] = text
        }, render: { $0[keyPath: path] })
    }

    static func integer(_ key: String, _ path: WritableKeyPath<EngineConfiguration, Int> & Sendable, in range: ClosedRange<Int>, fix: String) -> ConfigurationSetting {
        ConfigurationSetting(key, apply: { config, value, source in
            let parsed: Int?
            switch value {
            case .number(let n): parsed = n == n.rounded() && abs(n) < 1e15 ? Int(n) : nil
            case .string(let s): parsed = Int(s.trimmingCharacters(in: .whitespaces))
            default: parsed = nil
            }
            guard let parsed, range.contains(parsed) else {
                throw ConfigurationError(key: key, source: source, problem: "expected an integer in \(range.lowerBound)...\(range.upperBound), got \(value.shown)", fix: fix)
            }
            config[keyPath: path] = parsed
        }, render: { String($0[keyPath: path]) })
    }

    static func duration(_ key: String, _ path: WritableKeyPath<EngineConfiguration, EventDuration> & Sendable, fix: String) -> ConfigurationSetting {
        ConfigurationSetting(key, apply: { config, value, source in
            guard case .string(let text) = value, let parsed = EventDuration(parsing: text.trimmingCharacters(in: .whitespaces)) else {
                throw ConfigurationError(key: key, source: source, problem: "expected a duration (500ms, 30s, 10m, 24h, 7d), got \(value.shown)", fix: fix)
            }
            config[keyPath: path] = parsed
        }, render: { $0[keyPath: path].description })
    }

    /// A duration that must lie in `range`, e.g. a timeout: zero would fail every call, hours would hang a batch.
    static func duration(
        _ key: String, _ path: WritableKeyPath<EngineConfiguration, EventDuration> & Sendable, in range: ClosedRange<EventDuration>, fix: String
    ) -> ConfigurationSetting {
        let unbounded = duration(key, path, fix: fix)
        return ConfigurationSetting(key, apply: { config, value, source in
            var candidate = config
            try unbounded.apply(&candidate, value, source)
            let parsed = candidate[keyPath: path]
            guard range.contains(parsed) else {
                throw ConfigurationError(key: key, source: source, problem: "expected a duration from \(range.lowerBound) to \(range.upperBound), got \(value.shown)", fix: fix)
            }
            config[keyPath: path] = parsed
        }, render: unbounded.render)
    }

    static func string(_ value: ConfigurationValue, key: String, source: String, fix: String) throws -> String {
        guard case .string(let text) = value else {
            throw ConfigurationError(key: key, source: source, problem: "expected a string, got \(value.shown)", fix: fix)
        }
        return text
    }

    static func number(_ value: ConfigurationValue, key: String, source: String, fix: String) throws -> Double {
        switch value {
        case .number(let n) where n.isFinite: return n
        case .string(let s): if let n = Double(s.trimmingCharacters(in: .whitespaces)), n.isFinite { return n }
        default: break
        }
        throw ConfigurationError(key: key, source: source, problem: "expected a number, got \(value.shown)", fix: fix)
    }

    static func storeKind(_ value: ConfigurationValue, key: String, source: String) throws -> FeatureStoreKind {
        let name = try string(value, key: key, source: source, fix: "use memory or redis")
        guard let kind = FeatureStoreKind(rawValue: name) else {
            throw ConfigurationError(key: key, source: source, problem: "unknown store \"\(name)\"", fix: "use memory or redis")
        }
        return kind
    }

    /// A JSON object `{"count(ip,1h)": "memory"}` from the file, or `count(ip,1h)=memory;…` from the environment.
    static func storeOverrides(_ value: ConfigurationValue, source: String) throws -> [String: FeatureStoreKind] {
        let key = "features.store_overrides"
        var pairs: [(String, ConfigurationValue)] = []
        switch value {
        case .object(let members): pairs = members.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        case .string(let text):
            for item in text.split(separator: ";") where !item.trimmingCharacters(in: .whitespaces).isEmpty {
                guard let equals = item.lastIndex(of: "=") else {
                    throw ConfigurationError(key: key, source: source, problem: "\"\(item)\" is not feature=store", fix: "write count(ip,1h)=memory;sum(amount_usd,account_id,24h)=redis")
                }
                pairs.append((String(item[..<equals]), .string(String(item[item.index(after: equals)...]).trimmingCharacters(in: .whitespaces))))
            }
        default:
            throw ConfigurationError(key: key, source: source, problem: "expected an object of feature: store, got \(value.shown)", fix: "write {\"count(ip,1h)\": \"memory\"}")
        }
        var overrides: [String: FeatureStoreKind] = [:]
        for (feature, store) in pairs {
            let name = feature.trimmingCharacters(in: .whitespaces)
            overrides[name] = try storeKind(store, key: "\(key).\(name)", source: source)
        }
        return overrides
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.utf8), b = Array(b.utf8)
        var previous = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var current = [i] + [Int](repeating: 0, count: b.count)
            for j in 1...max(b.count, 1) where !b.isEmpty {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}
