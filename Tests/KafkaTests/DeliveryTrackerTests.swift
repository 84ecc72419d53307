import Testing
@testable import Kafka

@Suite("Delivery reports matched to their batches")
struct DeliveryTrackerTests {
    @Test("Reports arriving in any order, some before the wait, answer once with every message's place and failure")
    func outOfOrderReports() async {
        let tracker = DeliveryTracker()
        let batch = tracker.open(count: 4)
        tracker.record(batch: batch, index: 2, partition: 5, offset: 70, error: nil)
        tracker.record(batch: batch, index: 0, partition: 1, offset: 10, error: nil)
        async let outcome = tracker.wait(batch: batch)
        tracker.record(batch: batch, index: 3, partition: -1, offset: -1, error: .messageTimedOut)
        tracker.record(batch: batch, index: 1, partition: 1, offset: 11, error: nil)
        let result = await outcome!
        #expect(result.partitions == [1, 1, 5, -1])
        #expect(result.offsets == [10, 11, 70, -1])
        #expect(result.failures.map(\.index) == [3])
        #expect(result.failures.map(\.code) == [.messageTimedOut])
    }

    @Test("A cancelled wait answers nil at once, whether it was waiting already or not yet; the batch's later reports are dropped with it")
    func cancelledWait() async {
        let tracker = DeliveryTracker()
        let waitingFirst = tracker.open(count: 2)
        let waiting = Task { await tracker.wait(batch: waitingFirst) }
        while !tracker.isAwaited(batch: waitingFirst) { await Task.yield() }
        waiting.cancel()
        #expect(await waiting.value == nil)

        let cancelledFirst = tracker.open(count: 1)
        let late = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return await tracker.wait(batch: cancelledFirst)
        }
        #expect(await late.value == nil)

        #expect(tracker.pendingBatches == 2, "abandoned batches wait for their reports")
        tracker.record(batch: waitingFirst, index: 0, partition: 0, offset: 1, error: nil)
        tracker.record(batch: waitingFirst, index: 1, partition: 0, offset: 2, error: nil)
        tracker.record(batch: cancelledFirst, index: 0, partition: 0, offset: 3, error: .messageTimedOut)
        #expect(tracker.pendingBatches == 0, "an abandoned batch's last report removes it")
    }

    @Test("A batch whose reports all came before the wait answers at once; two batches do not mix")
    func completedBeforeWait() async {
        let tracker = DeliveryTracker()
        let first = tracker.open(count: 2)
        let second = tracker.open(count: 1)
        tracker.record(batch: second, index: 0, partition: 3, offset: 99, error: nil)
        tracker.record(batch: first, index: 1, partition: 0, offset: 8, error: nil)
        tracker.record(batch: first, index: 0, partition: 0, offset: 7, error: nil)
        let outcomes = (await tracker.wait(batch: first)!, await tracker.wait(batch: second)!)
        #expect(outcomes.0.offsets == [7, 8])
        #expect(outcomes.1.partitions == [3])
        #expect(outcomes.1.offsets == [99])
        #expect(outcomes.0.failures.isEmpty && outcomes.1.failures.isEmpty)
    }
}
