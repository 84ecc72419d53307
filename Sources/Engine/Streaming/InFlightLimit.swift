/// A limit on messages published but not yet acknowledged and committed. `acquire(n)` suspends
/// while taking n more would pass the limit (first come, first served; a batch larger than the
/// whole limit passes when nothing else is held); `release(n)` hands them back.
///
/// Messages, not batches, are the unit: under light load polls return a few events each, and a
/// bound of a few batches would then cap throughput at a few events per broker round trip.
actor InFlightLimit {
    private let limit: Int
    private var held = 0
    private var waiters: [(units: Int, continuation: CheckedContinuation<Void, Never>)] = []
    private var closed = false

    init(_ limit: Int) {
        precondition(limit > 0)
        self.limit = limit
    }

    func acquire(_ units: Int) async {
        if closed { return }
        if waiters.isEmpty, fits(units) {
            held += units
            return
        }
        // `release` adds the units to `held` before resuming the waiter.
        await withCheckedContinuation { waiters.append((units, $0)) }
    }

    func release(_ units: Int) {
        held -= units
        while let first = waiters.first, fits(first.units) {
            held += first.units
            waiters.removeFirst().continuation.resume()
        }
    }

    /// Lets every waiter and every later `acquire` through: the stage that released units is gone.
    func close() {
        closed = true
        for waiter in waiters { waiter.continuation.resume() }
        waiters.removeAll()
    }

    private func fits(_ units: Int) -> Bool { held == 0 || held + units <= limit }
}
