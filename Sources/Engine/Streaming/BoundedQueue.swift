/// A FIFO between two pipeline stages that suspends the producer while `capacity` items wait:
/// backpressure instead of unbounded memory when a later stage is slow.
actor BoundedQueue<Element: Sendable> {
    /// Taken items are cleared at once: a batch's events, decisions and encoded messages are
    /// freed when the next stage takes it, not when the buffer is next compacted (up to 64
    /// batches later; a jemalloc heap profile of `waqiti serve` under `waqiti-bench engine --only
    /// throughput --events 100000 --runs 1 --stores memory` with MALLOC_CONF=prof:true caught
    /// ~34,000 encoded decisions held that way).
    private var items: [Element?] = []
    private var head = 0
    private let capacity: Int
    private var finished = false
    private var waitingConsumer: CheckedContinuation<Element?, Never>?
    private var waitingProducers: [CheckedContinuation<Void, Never>] = []

    init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
    }

    /// Waits while the queue is full; the item is dropped if the queue was finished.
    func send(_ item: Element) async {
        while items.count - head >= capacity, !finished {
            await withCheckedContinuation { waitingProducers.append($0) }
        }
        guard !finished else { return }
        if let consumer = waitingConsumer {
            waitingConsumer = nil
            consumer.resume(returning: item)
        } else {
            items.append(item)
        }
    }

    /// The next item, or nil once the queue is finished and drained.
    func next() async -> Element? {
        if head < items.count {
            let item = items[head].take()
            advance(by: 1)
            return item
        }
        if finished { return nil }
        return await withCheckedContinuation { waitingConsumer = $0 }
    }

    /// Every item waiting now, up to `maxItems` (at least one: waits for it when none waits), or
    /// nil once the queue is finished and drained. A stage that falls behind takes its backlog in
    /// one go and pays its per-batch costs once for all of it.
    func nextAll(upTo maxItems: Int) async -> [Element]? {
        guard head < items.count else { return await next().map { [$0] } }
        let end = min(items.count, head + max(1, maxItems))
        var taken: [Element] = []
        taken.reserveCapacity(end - head)
        for index in head ..< end { taken.append(items[index].take()!) }
        advance(by: taken.count)
        return taken
    }

    /// Drops `count` taken items from the front (compacting once most of the buffer is taken) and
    /// wakes as many waiting producers: each taken item frees one place.
    private func advance(by count: Int) {
        head += count
        if head > 64, head * 2 > items.count {
            items.removeFirst(head)
            head = 0
        }
        for _ in 0 ..< min(count, waitingProducers.count) { waitingProducers.removeFirst().resume() }
    }

    /// Whether nothing waits to be taken (now; a sender may add an item right after).
    var isEmpty: Bool { head == items.count }

    /// Senders waiting for room (tests: to know a sender is held without timing it).
    var waitingSenders: Int { waitingProducers.count }

    /// No more items will be sent; the consumer drains what is queued, then gets nil.
    func finish() {
        finished = true
        waitingConsumer?.resume(returning: nil)
        waitingConsumer = nil
        for producer in waitingProducers { producer.resume() }
        waitingProducers.removeAll()
    }
}
