import Foundation
import ThreadName

/// A dedicated thread that calls `body` in a loop until stopped: librdkafka's blocking poll
/// calls live here so they never occupy a thread of Swift's cooperative pool.
final class PollingThread: Sendable {
    private let stopped = AtomicFlag()
    private let exited = DispatchSemaphore(value: 0)

    init(name: String, body: @escaping @Sendable () -> Void) {
        let thread = Thread { [stopped, exited] in
            ThreadName.setCurrent(name)
            while !stopped.isSet { body() }
            exited.signal()
        }
        thread.start()
    }

    /// Stops the loop and waits for the current iteration to finish; later calls return at once.
    func stop() {
        guard stopped.set() else { return }
        exited.wait()
    }
}
