/// A limit on messages published but not yet acknowledged and committed, counted both in
/// messages and in bytes. `acquire(_:)` suspends while taking more would pass either limit (first
/// come, first served; what is larger than a whole limit passes when nothing else is held);
/// `release(_:)` hands them back.
///
/// Messages, not batches, are one unit: under light load polls return a few events each, and a
/// bound of a few batches would then cap throughput at a few events per broker round trip. Bytes
/// are the other: a dead letter carries up to 512 KiB, so a bound in messages alone would let a
/// burst of them behind a slow broker hold gigabytes.
actor InFlightLimit {
    struct Units: Sendable, Equatable {
        var messages: Int
        var bytes: Int

        static let zero = Units(messages: 0, bytes: 0)

        init(messages: Int, bytes: Int) {
            self.messages = messages
            self.bytes = bytes
        }

        init(_ messages: some Collection<OutgoingMessage>) {
            self.init(messages: messages.count, bytes: messages.reduce(0) { $0 + $1.byteCount })
        }
    }

    let limit: Units
    private var held = Units.zero
    private var waiters: [(units: Units, continuation: CheckedContinuation<Void, Never>)] = []
    private var closed = false

    init(messages: Int, bytes: Int) {
        precondition(messages > 0 && bytes > 0)
        limit = Units(messages: messages, bytes: bytes)
    }

    func acquire(_ units: Units) async {
        if closed { return }
        if waiters.isEmpty, fits(units) {
            add(units)
            return
        }
        // `release` adds the units to `held` before resuming the waiter.
        await withCheckedContinuation { waiters.append((units, $0)) }
    }

    func release(_ units: Units) {
        held.messages -= units.messages
        held.bytes -= units.bytes
        while let first = waiters.first, fits(first.units) {
            add(first.units)
            waiters.removeFirst().continuation.resume()
        }
    }

    /// Lets every waiter and every later `acquire` through: the stage that released units is gone.
    func close() {
        closed = true
        for waiter in waiters { waiter.continuation.resume() }
        waiters.removeAll()
    }

    /// What is held now, and how many acquirers wait (tests).
    var holding: Units { held }
    var waiting: Int { waiters.count }

    private func fits(_ units: Units) -> Bool {
        held == .zero || (held.messages + units.messages <= limit.messages && held.bytes + units.bytes <= limit.bytes)
    }

    private func add(_ units: Units) {
        held.messages += units.messages
        held.bytes += units.bytes
    }

    /// `messages` cut, in order, into runs whose bytes each fit the limit on its own (a message
    /// larger than the limit is a run of one), so that a batch larger than the byte limit is
    /// published and acknowledged part by part instead of all at once. Not cut by count: a
    /// batch of more messages than the limit (decided batches merged behind a slow decide
    /// stage) passes whole when nothing else is held, as one broker round trip.
    nonisolated func parts(of messages: [OutgoingMessage]) -> [ArraySlice<OutgoingMessage>] {
        var parts: [ArraySlice<OutgoingMessage>] = []
        var start = messages.startIndex
        var bytes = 0
        for index in messages.indices {
            let size = messages[index].byteCount
            if index > start, bytes + size > limit.bytes {
                parts.append(messages[start..<index])
                start = index
                bytes = 0
            }
            bytes += size
        }
        if start < messages.endIndex || parts.isEmpty { parts.append(messages[start...]) }
        return parts
    }
}
