/// The consumer's non-empty batches as an `AsyncSequence`. Each `next()` polls on the consumer's
/// own thread, so iterating never blocks the cooperative pool, and nothing is read ahead of the
/// caller (back-pressure for free).
public struct KafkaConsumerBatches: AsyncSequence, Sendable {
    public typealias Element = KafkaConsumerBatch

    let consumer: KafkaConsumer
    let maxMessages: Int
    let pollTimeout: Duration

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(consumer: consumer, maxMessages: maxMessages, pollTimeout: pollTimeout)
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let consumer: KafkaConsumer
        let maxMessages: Int
        let pollTimeout: Duration

        public mutating func next() async throws -> KafkaConsumerBatch? {
            while !Task.isCancelled {
                guard let batch = try await consumer.pollOffCooperativePool(maxMessages: maxMessages, timeout: pollTimeout) else {
                    return nil
                }
                if !batch.isEmpty { return batch }
            }
            return nil
        }
    }
}
