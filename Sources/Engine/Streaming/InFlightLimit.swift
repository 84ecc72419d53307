/// A counting limit on work started but not finished: `acquire` suspends while `limit` units are
/// held, `release` hands a unit back (to the longest waiter first). The pipeline holds one unit
/// per batch published but not yet acknowledged and committed.
actor InFlightLimit {
    private let limit: Int
    private var held = 0
    private var waiters: [CheckedContinuation<Void, Never>] = []
    private var closed = false

    init(_ limit: Int) {
        precondition(limit > 0)
        self.limit = limit
    }

    func acquire() async {
        if closed { return }
        if held < limit {
            held += 1
            return
        }
        // The releasing side passes its unit on directly, so `held` stays as it is.
        await withCheckedContinuation { waiters.append($0) }
    }

    /// Lets every waiter and every later `acquire` through: the stage that released units is gone.
    func close() {
        closed = true
        for waiter in waiters { waiter.resume() }
        waiters.removeAll()
    }

    func release() {
        if waiters.isEmpty {
            held -= 1
        } else {
            waiters.removeFirst().resume()
        }
    }
}
