import Engine
import Features
import Foundation
import FraudCore
import Testing
import LocalStackSupport

private func writeConfig(_ json: String) throws -> String {
    let path = TemporaryFolder.current.path("config-\(UUID().uuidString).json")
    try json.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

@Suite("EngineConfiguration", .temporaryFolder)
struct ConfigurationTests {
    @Test("embedded defaults need no file and no environment")
    func defaults() throws {
        let config = try EngineConfiguration.load(file: nil, environment: [:])
        #expect(config == EngineConfiguration())
        #expect(config.kafka.brokers == "127.0.0.1:9092")
        #expect(config.kafka.paymentsTopic == "payments")
        #expect(config.kafka.decisionsTopic == "fraud-decisions")
        #expect(config.kafka.deadLetterTopic == "payments-dlq")
        #expect(config.kafka.groupID == "waqiti-fraud")
        #expect(config.http.port == 8083)
        #expect(config.rulesFile == "rules/default.rules")
        #expect(config.modelFile == "models/default.json")
        #expect(config.features.redisConnectTimeout == .seconds(1))
        #expect(config.features.redisCommandTimeout == .seconds(2))
        #expect(config.batching.maxInFlightBytes == 64 * 1024 * 1024)
        #expect(config.shutdownTimeout == .seconds(30))
        #expect(try EngineConfiguration.load(file: nil, environment: ["WAQITI_SHUTDOWN_TIMEOUT": "5s"]).shutdownTimeout == .seconds(5))
        #expect(config.http.idleTimeout == .seconds(75))
        #expect(try EngineConfiguration.load(file: nil, environment: ["WAQITI_HTTP_IDLE_TIMEOUT": "20s"]).http.idleTimeout == .seconds(20))
        #expect(try EngineConfiguration.load(file: nil, environment: ["WAQITI_BATCH_MAX_IN_FLIGHT_BYTES": "1048576"]).batching.maxInFlightBytes == 1_048_576)
    }

    @Test("the environment overrides the file, key by key")
    func environmentOverridesFile() throws {
        let path = try writeConfig("""
        {"kafka": {"brokers": "10.0.0.1:9092", "group_id": "fraud-a"},
         "batch": {"max_events": 250, "linger": "20ms"},
         "features": {"store": "memory", "store_overrides": {"count(ip,1h)": "redis"}, "allowed_lateness": "2m"},
         "degraded": {"policy": "review_above", "review_above_usd": 250},
         "model": {"file": "none"},
         "redis": {"connect_timeout": "250ms", "command_timeout": "750ms"}}
        """)
        let config = try EngineConfiguration.load(file: path, environment: [
            "WAQITI_KAFKA_BROKERS": "127.0.0.1:19092", "WAQITI_REDIS_URL": "redis://127.0.0.1:16379",
            "WAQITI_HTTP_PORT": "9083", "WAQITI_API_KEYS": "0123456789abcdef, ops:rules:read+score:update:fedcba9876543210",
            "WAQITI_FEATURES_STORE_OVERRIDES": "count(card_fingerprint,10m)=memory",
            "WAQITI_REDIS_COMMAND_TIMEOUT": "3s",
        ])
        #expect(config.features.redisConnectTimeout == EventDuration(milliseconds: 250))
        #expect(config.features.redisCommandTimeout == .seconds(3))
        #expect(config.kafka.brokers == "127.0.0.1:19092")
        #expect(config.kafka.groupID == "fraud-a")
        #expect(config.features.redisURL == "redis://127.0.0.1:16379")
        #expect(config.batching.maxEvents == 250)
        #expect(config.batching.linger == EventDuration(milliseconds: 20))
        #expect(config.features.store == .memory)
        #expect(config.features.storeOverrides == ["count(card_fingerprint,10m)": .memory])
        #expect(config.features.allowedLateness == .minutes(2))
        #expect(config.degradedPolicy == .reviewAbove(usd: 250))
        #expect(config.modelFile == nil)
        #expect(config.http.port == 9083)
        #expect(config.http.apiKeys == [APIKey(legacy: "0123456789abcdef"), APIKey(name: "ops", scopes: [.rulesRead, .scoreUpdate], key: "fedcba9876543210")])
        #expect(config.http.apiKeys.map(\.name) == ["key-9f9f5111", "ops"])
        #expect(config.http.apiKeys[0].scopes == [.score])
    }

    @Test("a bad value names the key, its source and the fix", arguments: [
        (["WAQITI_HTTP_PORT": "80a"], "WAQITI_HTTP_PORT: http.port: expected an integer in 0...65535, got \"80a\"; use a free TCP port such as 8083 (0 picks any free port)"),
        (["WAQITI_FEATURES_STORE": "disk"], "WAQITI_FEATURES_STORE: features.store: unknown store \"disk\"; use memory or redis"),
        (["WAQITI_BATCH_LINGER": "5 minutes"], "WAQITI_BATCH_LINGER: batch.linger: expected a duration (500ms, 30s, 10m, 24h, 7d), got \"5 minutes\"; write a duration from 1ms to 5m such as 5ms (0 would poll without waiting and spin a core while idle)"),
        (["WAQITI_JWT_SECRET": "short"], "WAQITI_JWT_SECRET: http.jwt_secret: an HS256 secret of 5 bytes is shorter than the 32 the algorithm needs; use at least 32 random bytes, e.g. from `openssl rand -hex 32`"),
        (["WAQITI_API_KEYS": "abc"], "WAQITI_API_KEYS: http.api_keys: entry 1 has a key of 3 characters, too easy to guess; use keys of at least 16 random characters, e.g. from `openssl rand -hex 16`"),
        (["WAQITI_API_KEYS": "0123456789abcdef,ops:rules:read:short"], "WAQITI_API_KEYS: http.api_keys: entry 2 ('ops') has a key of 5 characters, too easy to guess; use keys of at least 16 random characters, e.g. from `openssl rand -hex 16`"),
        (["WAQITI_API_KEYS": "ops:rules:write:0123456789abcdef"], "WAQITI_API_KEYS: http.api_keys: entry 1 ('ops') has the unknown scope 'rules:write'; the scopes are score, score:update, rules:read, metrics:read, payments:write, payments:read, reviews:read, reviews:resolve, wallet:read, wallet:topup, wallet:hold, reconciliation:read, joined with '+'"),
        (["WAQITI_API_KEYS": "ops:0123456789abcdef"], "WAQITI_API_KEYS: http.api_keys: entry 1 ('ops') has a name but no scopes; write each entry as name:scope+scope:key (e.g. payment:wallet:hold+score:update:$(openssl rand -hex 16)) or a bare key without ':'"),
        (["WAQITI_API_KEYS": "the ops:score:0123456789abcdef"], "WAQITI_API_KEYS: http.api_keys: entry 1 has the name 'the ops', which is not 1 to 64 letters, digits, '.', '_' or '-'; write each entry as name:scope+scope:key (e.g. payment:wallet:hold+score:update:$(openssl rand -hex 16)) or a bare key without ':'"),
        (["WAQITI_API_KEYS": "ops:score:0123456789abcdef,ops:rules:read:fedcba9876543210"], "WAQITI_API_KEYS: http.api_keys: entries 1 and 2 are both named 'ops'; give each key its own name, so what it does is told apart"),
        (["WAQITI_DEGRADED_POLICY": "panic"], "WAQITI_DEGRADED_POLICY: degraded.policy: unknown policy \"panic\"; use decide, review_above or review_all"),
        (["WAQITI_REDIS_COMMAND_TIMEOUT": "0ms"], "WAQITI_REDIS_COMMAND_TIMEOUT: redis.command_timeout: expected a duration from 1ms to 1m, got \"0ms\"; write a duration such as 2s"),
        (["WAQITI_BATCH_LINGER": "0ms"], "WAQITI_BATCH_LINGER: batch.linger: expected a duration from 1ms to 5m, got \"0ms\"; write a duration from 1ms to 5m such as 5ms (0 would poll without waiting and spin a core while idle)"),
        (["WAQITI_BATCH_LINGER": "6m"], "WAQITI_BATCH_LINGER: batch.linger: expected a duration from 1ms to 5m, got \"6m\"; write a duration from 1ms to 5m such as 5ms (0 would poll without waiting and spin a core while idle)"),
        (["WAQITI_REDIS_CONNECT_TIMEOUT": "2m"], "WAQITI_REDIS_CONNECT_TIMEOUT: redis.connect_timeout: expected a duration from 1ms to 1m, got \"2m\"; write a duration such as 1s"),
        (["WAQITI_REDIS_CONNECT_TIMEOUT": "1.5s"], "WAQITI_REDIS_CONNECT_TIMEOUT: redis.connect_timeout: expected a duration (500ms, 30s, 10m, 24h, 7d), got \"1.5s\"; write a duration such as 1s"),
        (["WAQITI_KAFKA_BROKERS": "  "], "WAQITI_KAFKA_BROKERS: kafka.brokers: empty value; give host:port pairs separated by commas, e.g. 127.0.0.1:9092"),
        (["WAQITI_SHUTDOWN_TIMEOUT": "0s"], "WAQITI_SHUTDOWN_TIMEOUT: shutdown.timeout: expected a duration from 1s to 1h, got \"0s\"; write a duration from 1s to 1h such as 30s (how long SIGTERM may drain before what is in flight is given up)"),
        (["WAQITI_HTTP_IDLE_TIMEOUT": "0s"], "WAQITI_HTTP_IDLE_TIMEOUT: http.idle_timeout: expected a duration from 1s to 1h, got \"0s\"; write a duration from 1s to 1h such as 75s (longer than the idle time of the proxy's and clients' connection pools)"),
        (["WAQITI_BATCH_MAX_IN_FLIGHT_BYTES": "1000"], "WAQITI_BATCH_MAX_IN_FLIGHT_BYTES: batch.max_in_flight_bytes: expected an integer in 65536...17179869184, got \"1000\"; use a size in bytes such as 67108864 (64 MiB)"),
    ])
    func environmentErrors(environment: [String: String], message: String) {
        #expect(throws: ConfigurationError.self) { try EngineConfiguration.load(file: nil, environment: environment) }
        do {
            _ = try EngineConfiguration.load(file: nil, environment: environment)
        } catch {
            #expect("\(error)" == message)
        }
    }

    @Test("file errors: unknown keys with a suggestion, secrets refused, wrong types")
    func fileErrors() throws {
        let cases: [(String, String)] = [
            (#"{"kafka": {"broker": "x:1"}}"#, "kafka.broker: unknown setting; did you mean 'kafka.brokers'? docs/operations.md lists every key"),
            (#"{"http": {"jwt_secret": "0123456789abcdef0123456789abcdef"}}"#, "http.jwt_secret: secrets are not read from files; remove it from the file and set WAQITI_JWT_SECRET in the environment"),
            (#"{"batch": {"max_events": 0}}"#, "batch.max_events: expected an integer in 1...100000, got 0; use a batch size such as 500"),
            (#"{"batch": {"max_events": "many"}}"#, "batch.max_events: expected an integer in 1...100000, got \"many\"; use a batch size such as 500"),
            (#"["not", "an", "object"]"#, "(root): expected a JSON object at the top level; write the settings as {\"kafka\": {\"brokers\": \"…\"}, …}"),
        ]
        for (json, message) in cases {
            let path = try writeConfig(json)
            do {
                _ = try EngineConfiguration.load(file: path, environment: [:])
                Issue.record("expected an error for \(json)")
            } catch {
                #expect("\(error)" == "\(path): \(message)")
            }
        }
    }

    @Test("bare keys get the scope score and a start-up warning naming them; named keys none")
    func bareKeyWarning() throws {
        let keys = try APIKey.parseList("0123456789abcdef,ops:rules:read:fedcba9876543210")
        #expect(APIKey.legacyWarning(keys) == "1 of 2 WAQITI_API_KEYS entries (key-9f9f5111) are bare keys: they may only score with dry_run=true (scope score); write them as name:scope+scope:key to grant more (docs/api.md, Authentication)")
        #expect(APIKey.legacyWarning(Array(keys.dropFirst())) == nil)
        #expect(keys[0].covers([.score]) && !keys[0].covers([.scoreUpdate]))
        #expect(APIKey(name: "p", scopes: [.scoreUpdate], key: "k").covers([.score, .scoreUpdate]))
    }

    @Test("the printed configuration redacts secrets")
    func redaction() throws {
        let secret = "s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t"
        let config = try EngineConfiguration.load(file: nil, environment: [
            "WAQITI_JWT_SECRET": secret, "WAQITI_API_KEYS": "key-0123456789abcdef,payment:wallet:hold+score:update:payment-0123456789abcdef",
        ])
        let printed = config.redactedDescription
        #expect(!printed.contains(secret))
        #expect(!printed.contains("0123456789abcdef"))
        #expect(printed.contains("http.jwt_secret = (set, redacted)"))
        #expect(printed.contains("http.api_keys = key-97b2173c [score] (bare key), payment [score:update wallet:hold] (keys redacted)"))
        #expect(printed.contains("kafka.brokers = 127.0.0.1:9092"))
    }
}

@Suite("PartitionAdvice")
struct PartitionAdviceTests {
    @Test("warns for in-memory features not keyed by account_id, and for overrides naming no feature")
    func warnings() {
        let card = FeatureSpec(kind: .count, key: .cardFingerprint, window: .minutes(10))
        let account = FeatureSpec(kind: .sum, field: .amountUSD, key: .accountID, window: .hours(24))
        let ip = FeatureSpec(kind: .distinct, field: .deviceID, key: .ip, window: .hours(1))
        var features = EngineConfiguration.Features()
        features.store = .memory
        features.storeOverrides = ["distinct(device_id,ip,1h)": .redis, "count(ip,1h)": .redis]
        let plan = FeaturePlan([card, account, ip])
        #expect(PartitionAdvice.warnings(plan: plan, features: features) == [
            "feature count(card_fingerprint,10m) is kept in memory but keyed by card_fingerprint, not by the Kafka message key (account_id): with more than one engine instance its windows would be split across instances. Give it the Redis store before scaling out: features.store_overrides {\"count(card_fingerprint,10m)\": \"redis\"}",
        ])
        #expect(PartitionAdvice.unknownOverrides(plan: plan, features: features) == ["count(ip,1h)"])
    }
}
