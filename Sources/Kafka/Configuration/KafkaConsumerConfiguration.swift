/// Consumer settings. Offsets are never committed automatically: the engine commits explicit
/// offsets only after the decisions for them are acknowledged (at-least-once).
public struct KafkaConsumerConfiguration: Sendable, Equatable {
    /// `auto.offset.reset`: where a group with no committed offset starts.
    public enum OffsetReset: String, Sendable {
        case earliest, latest
        /// Fail (`_AUTO_OFFSET_RESET`) instead of guessing.
        case error
    }

    public var client: KafkaClientConfiguration
    /// `group.id`: needed for `subscribe` and commits; nil for assign-only readers (replay).
    public var groupID: String?
    /// `session.timeout.ms`. Short (6 s) because group joins with Tansu otherwise take ~45 s, and
    /// a dead engine's partitions move quickly.
    public var sessionTimeout: Duration = .seconds(6)
    /// `heartbeat.interval.ms`; must be below a third of the session timeout.
    public var heartbeatInterval: Duration = .seconds(1)
    /// `max.poll.interval.ms`: the longest gap between polls before the group evicts this member.
    public var maxPollInterval: Duration = .seconds(300)
    public var offsetReset: OffsetReset = .earliest
    /// `enable.partition.eof`: report reaching the end of a partition (replay needs it).
    public var reportPartitionEOF = false
    /// `fetch.wait.max.ms`: how long the broker may hold a fetch to fill it.
    public var fetchWaitMax: Duration = .milliseconds(100)

    static let assignOnlyGroupID = "waqiti-assign-only"

    public init(client: KafkaClientConfiguration, groupID: String?) {
        self.client = client
        self.groupID = groupID
    }

    func properties() throws(KafkaError) -> [(String, String)] {
        var typed = try client.properties()
        if let groupID {
            guard !groupID.isEmpty else { throw .invalidConfiguration(key: "group.id", reason: "empty; use nil for an assign-only consumer") }
            typed.append(("group.id", groupID))
        } else {
            // librdkafka refuses assign() without a group id (_UNKNOWN_GROUP). An assign-only
            // consumer never joins this group, and KafkaConsumer refuses to commit to it.
            typed.append(("group.id", Self.assignOnlyGroupID))
        }
        let session = try milliseconds(sessionTimeout, key: "session.timeout.ms", in: 1_000...3_600_000)
        let heartbeat = try milliseconds(heartbeatInterval, key: "heartbeat.interval.ms", in: 1...3_600_000)
        guard Int64(heartbeat)! * 3 <= Int64(session)! else {
            throw .invalidConfiguration(key: "heartbeat.interval.ms", reason: "\(heartbeat) ms is more than a third of session.timeout.ms (\(session) ms)")
        }
        typed += [
            ("session.timeout.ms", session),
            ("heartbeat.interval.ms", heartbeat),
            ("max.poll.interval.ms", try milliseconds(maxPollInterval, key: "max.poll.interval.ms", in: 1...86_400_000)),
            ("auto.offset.reset", offsetReset.rawValue),
            ("enable.partition.eof", reportPartitionEOF ? "true" : "false"),
            ("fetch.wait.max.ms", try milliseconds(fetchWaitMax, key: "fetch.wait.max.ms", in: 0...300_000)),
            ("enable.auto.commit", "false"),
            ("enable.auto.offset.store", "false"),
        ]
        return try merged(typed, additional: client.additionalProperties)
    }
}
