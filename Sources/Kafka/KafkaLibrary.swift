import CRdKafka

/// The librdkafka runtime this process loaded (which may be newer than the headers it was built
/// against: deploy/local/env.sh puts librdkafka 2.16 first on the library path).
public enum KafkaLibrary {
    /// `rd_kafka_version_str()`, for example "2.16.0"; the CLI prints it at start.
    public static var version: String { String(cString: rd_kafka_version_str()) }

    /// `rd_kafka_version()`: 0xMMmmrrxx (major, minor, revision, pre-release).
    public static var versionNumber: Int { Int(rd_kafka_version()) }

    /// The oldest runtime that completes the ApiVersions handshake with the Tansu broker used by
    /// the local stack; Debian 12's 2.0.2 does not.
    public static let minimumVersionForTansu = 0x0201_00ff

    /// True when the loaded runtime is older than `minimumVersionForTansu`: callers log a warning
    /// that names deploy/local/env.sh (the runtime still works with Apache Kafka brokers).
    public static var isOlderThanTansuNeeds: Bool { versionNumber < minimumVersionForTansu }
}
