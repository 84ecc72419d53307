import Synchronization

/// Arrays kept between calls so each call reuses one's capacity instead of allocating afresh.
///
/// `take` hands out a kept array (or an empty one); `give` keeps it for the next caller, up to
/// `keeping` arrays (as many as calls run at once: the Kafka pipeline's and a few HTTP requests').
/// A kept array holds the capacity of the largest batch it served.
final class BufferPool<Element: Sendable>: Sendable {
    private let kept: Mutex<[[Element]]>
    private let limit: Int

    init(keeping limit: Int) {
        precondition(limit > 0)
        self.limit = limit
        kept = Mutex([])
    }

    func take() -> [Element] {
        kept.withLock { $0.popLast() } ?? []
    }

    /// Keeps `buffer` (its contents are the next taker's to replace) unless `keeping` are kept.
    func give(_ buffer: [Element]) {
        kept.withLock { kept in
            if kept.count < limit { kept.append(buffer) }
        }
    }

    var keptCount: Int { kept.withLock { $0.count } }
}
