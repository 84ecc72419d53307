import Dispatch
@testable import Kafka
import Synchronization
import Testing
import ThreadName

/// librdkafka's polling threads are found by name in `top -H`, `perf` and gdb. Named with
/// Foundation's `Thread.current.name` from inside, a thread that ran before its parent's
/// `start()` had stored its pthread id kept its creator's name.
@Suite("Polling threads are named from their first iteration")
struct PollingThreadNameTests {
    @Test("each polling thread's first iteration already runs under the thread's own name")
    func namedFromTheStart() {
        // The race was at start, so many short-lived threads.
        for attempt in 0..<50 {
            let name = "poll-test-\(attempt)"
            let seen = Mutex<String?>(nil)
            let first = DispatchSemaphore(value: 0)
            let thread = PollingThread(name: name) {
                let isFirst = seen.withLock { seen in
                    guard seen == nil else { return false }
                    seen = ThreadName.current
                    return true
                }
                if isFirst { first.signal() }
            }
            first.wait()
            thread.stop()
            #expect(seen.withLock { $0 } == name)
        }
    }

    @Test("a name is cut to the kernel's 15 bytes")
    func longNamesAreCut() {
        let seen = Mutex<String?>(nil)
        let first = DispatchSemaphore(value: 0)
        let thread = PollingThread(name: "kafka-consumer-payments-0") {
            if seen.withLock({ seen in defer { seen = seen ?? ThreadName.current }; return seen == nil }) { first.signal() }
        }
        first.wait()
        thread.stop()
        #expect(seen.withLock { $0 } == "kafka-consumer-")
    }
}
