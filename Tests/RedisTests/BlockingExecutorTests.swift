import Foundation
import Synchronization
import Testing
@testable import Redis

@Suite("BlockingExecutor")
struct BlockingExecutorTests {
    @Test("calls run on the executor's named threads, at most `threads` at a time, and each caller gets its own result or typed error")
    func boundedNamedThreads() async throws {
        let executor = BlockingExecutor(name: "blocking-test", threads: 2)
        defer { executor.shutdown() }
        let running = Concurrency()
        let results = try await withThrowingTaskGroup(of: (Int, String).self) { group in
            for i in 0..<6 {
                group.addTask {
                    try await executor.run { () throws(RedisError) -> (Int, String) in
                        running.enter()
                        usleep(50_000)
                        running.leave()
                        let name = (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? ""
                        return (i, name.trimmingCharacters(in: .newlines))
                    }
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.map(\.0).sorted() == Array(0..<6))
        #expect(Set(results.map(\.1)) == ["blocking-test"])
        #expect(running.most == 2)

        await #expect(throws: RedisError.timeout(endpoint: "test", after: .seconds(1))) {
            try await executor.run { () throws(RedisError) in throw RedisError.timeout(endpoint: "test", after: .seconds(1)) }
        }
    }

    /// A store freed by its own last call: the job held the last reference, the worker released
    /// it while holding the executor's lock, and the store's deinit called `shutdown()`, which
    /// waited for that lock for ever (a CI run hung on it in IdleConnectionTests).
    @Test("a job holding the last reference to the executor's owner frees it outside the lock: the owner's shutdown() returns")
    func ownerFreedByItsLastJob() {
        let executor = BlockingExecutor(name: "owner-test")
        let freed = DispatchSemaphore(value: 0)
        // The queue holds the only reference to the tail.
        executor.enqueue { [tail = Tail { executor.shutdown(); freed.signal() }] in _ = tail }
        #expect(freed.wait(timeout: .now() + 10) == .success)
    }
}

/// Calls `onDeinit` when freed: an owner of the executor whose deinit shuts it down, as
/// `RedisFeatureStore` does.
private final class Tail: @unchecked Sendable {
    let onDeinit: () -> Void
    init(_ onDeinit: @escaping () -> Void) { self.onDeinit = onDeinit }
    deinit { onDeinit() }
}

/// How many calls run at once, and the most that ever did.
private final class Concurrency: Sendable {
    private let state = Mutex((now: 0, most: 0))
    func enter() { state.withLock { $0.now += 1; $0.most = max($0.most, $0.now) } }
    func leave() { state.withLock { $0.now -= 1 } }
    var most: Int { state.withLock { $0.most } }
}
