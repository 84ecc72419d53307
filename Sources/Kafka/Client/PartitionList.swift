import CRdKafka

/// An owned `rd_kafka_topic_partition_list_t`, built from Swift values and destroyed with it.
final class PartitionList {
    let pointer: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>

    init(_ offsets: [KafkaTopicPartitionOffset]) {
        pointer = rd_kafka_topic_partition_list_new(Int32(offsets.count))
        for entry in offsets {
            rd_kafka_topic_partition_list_add(pointer, entry.topic, entry.partition).pointee.offset = entry.offset
        }
    }

    deinit { rd_kafka_topic_partition_list_destroy(pointer) }

    /// Each entry with its per-partition error, after librdkafka filled them in.
    var entries: [(offset: KafkaTopicPartitionOffset, error: KafkaErrorCode?)] {
        (0..<Int(pointer.pointee.cnt)).map { index in
            let element = pointer.pointee.elems[index]
            return (KafkaTopicPartitionOffset(topic: String(cString: element.topic), partition: element.partition, offset: element.offset),
                    element.err == RD_KAFKA_RESP_ERR_NO_ERROR ? nil : KafkaErrorCode(element.err))
        }
    }

    static func topicPartitions(of list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) -> [KafkaTopicPartition] {
        (0..<Int(list.pointee.cnt)).map { index in
            let element = list.pointee.elems[index]
            return KafkaTopicPartition(topic: String(cString: element.topic), partition: element.partition)
        }.sorted()
    }
}
