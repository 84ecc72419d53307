import Testing
@testable import Engine

@Suite("Bounded queue between pipeline stages")
struct BoundedQueueTests {
    /// Stands for a batch: the queue must not keep it alive once a stage has taken it.
    final class Batch: Sendable {
        let number: Int
        init(_ number: Int) { self.number = number }
    }

    @Test("items come out in order, one at a time or in runs, and nil after finish once drained")
    func order() async {
        let queue = BoundedQueue<Int>(capacity: 10)
        for n in 1...7 { await queue.send(n) }
        #expect(await queue.next() == 1)
        #expect(await queue.nextAll(upTo: 4) == [2, 3, 4, 5])
        await queue.finish()
        #expect(await queue.nextAll(upTo: 4) == [6, 7])
        #expect(await queue.next() == nil)
        #expect(await queue.nextAll(upTo: 4) == nil)
    }

    @Test("a taken item is released at once, by next and by nextAll, before the buffer compacts")
    func takenItemsAreReleased() async {
        let queue = BoundedQueue<Batch>(capacity: 100)
        weak var first: Batch?
        weak var second: Batch?
        weak var third: Batch?
        do {
            let batches = [Batch(1), Batch(2), Batch(3), Batch(4)]
            (first, second, third) = (batches[0], batches[1], batches[2])
            for batch in batches { await queue.send(batch) }
        }
        #expect(first != nil)
        #expect(await queue.next()?.number == 1)
        #expect(first == nil)
        #expect(await queue.nextAll(upTo: 2)?.map(\.number) == [2, 3])
        #expect(second == nil)
        #expect(third == nil)
        #expect(await queue.next()?.number == 4)
    }

    @Test("a full queue holds the sender until the consumer takes an item")
    func backpressure() async throws {
        let queue = BoundedQueue<Int>(capacity: 2)
        await queue.send(1)
        await queue.send(2)
        let sender = Task { await queue.send(3) }
        // Held, not merely late: it parks in the queue (a queue that let it through would never
        // show a waiting sender), and 3 is not among the items.
        var yields = 0
        while await queue.waitingSenders == 0, yields < 100_000 { await Task.yield(); yields += 1 }
        try #require(await queue.waitingSenders == 1)
        #expect(await queue.nextAll(upTo: 10) == [1, 2])
        await sender.value
        #expect(await queue.waitingSenders == 0)
        #expect(await queue.next() == 3)
    }
}
