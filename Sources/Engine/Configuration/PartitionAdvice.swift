import Features
import FraudCore

/// Start-up advice on where windows live. Kafka partitions `payments` by the message key,
/// `account_id`, so one engine instance sees every event of an account but not every event of a
/// card, device or IP: an in-memory window keyed by anything else is complete only while a single
/// instance consumes the whole topic.
public enum PartitionAdvice {
    /// The field Kafka partitions payment events by.
    public static let partitionKey: EventField = .accountID

    /// One warning per in-memory feature whose key is not the partition key.
    public static func warnings(plan: FeaturePlan, features: EngineConfiguration.Features) -> [String] {
        plan.features.filter { features.store(for: $0) == .memory && $0.key != partitionKey }.map { feature in
            "feature \(feature.canonicalName) is kept in memory but keyed by \(feature.key.name), not by the Kafka message key " +
                "(\(partitionKey.name)): with more than one engine instance its windows would be split across instances. " +
                "Give it the Redis store before scaling out: features.store_overrides {\"\(feature.canonicalName)\": \"redis\"}"
        }
    }

    /// Store overrides that name no feature of the plan: almost always a typo.
    public static func unknownOverrides(plan: FeaturePlan, features: EngineConfiguration.Features) -> [String] {
        features.storeOverrides.keys.sorted().filter { plan.column(named: $0) == nil }
    }
}
