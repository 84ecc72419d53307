@testable import Engine
import Features
import Foundation
import FraudCore
import Redis
import Logging
import Synchronization
import Testing

/// A Redis whose host drops connection attempts costs each call the whole connect timeout. Those
/// waits must not hold the caller's thread: callers run on Swift's cooperative pool (as many
/// threads as cores), which runs everything else: the pipeline, HTTP scoring on local windows,
/// health checks. The test's tasks run on a task executor of one thread, a pool that other tests
/// cannot disturb. No services: the "Redis" is a loopback port whose accept queue is full.
@Suite("Redis outage and the cooperative pool")
struct RedisOutagePoolTests {
    @Test("more feature-store calls than their executor has threads meet a Redis stuck in connects: its other tasks keep running, the first call waits out the connect timeout, and the calls queued behind it fail at once without being sent")
    func stuckCallsHoldNoCallerThread() async throws {
        let redis = try UnresponsiveRedis(.unreachable)
        let connectTimeout = Duration.milliseconds(1500)
        let store = RedisFeatureStore(configuration: RedisConfiguration(
            host: "127.0.0.1", port: redis.port, connectTimeout: connectTimeout, commandTimeout: .seconds(1)
        ))
        let plan = FeaturePlan([FeatureSpec(kind: .count, key: .cardFingerprint, window: .hours(1))])
        let calls = 4
        let executor = SingleThreadTaskExecutor(name: "outage-test")
        defer { executor.stop() }

        let heartbeat = Heartbeat(on: executor)
        let start = ContinuousClock.now
        let reasons = await withTaskExecutorPreference(executor) {
            await withTaskGroup(of: String.self) { group in
                for i in 0..<calls {
                    group.addTask {
                        var out: [Double] = []
                        do {
                            _ = try await store.process([payment("stuck-\(i)")], plan: plan, mode: .update, into: &out)
                            return "answered"
                        } catch FeatureStoreError.unavailable(let reason) {
                            return reason
                        } catch {
                            return "\(error)"
                        }
                    }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
        }
        let waited = ContinuousClock.now - start
        let worstGap = await heartbeat.stop()

        // The calls are queued within milliseconds, long before the first connect gives up.
        let timedOut = RedisError.connectionFailed(endpoint: "127.0.0.1:\(redis.port)", reason: "Connection timed out").description
        #expect(reasons.filter { $0 == timedOut }.count == 1, "\(reasons)")
        #expect(reasons.filter { $0 == RedisError.notSent(reason: timedOut).description }.count == calls - 1, "\(reasons)")
        #expect(waited >= connectTimeout * 9 / 10)
        // A call holding the executor's thread would stall the heartbeat for a whole connect
        // timeout (1.5 s) at a time; the margin below that is for a loaded machine.
        #expect(worstGap < .seconds(1), "the heartbeat waited \(worstGap) for its thread")

        // A call queued after the failure is sent (a retry, the first batch after a recovery
        // ping): it waits out a connect of its own.
        var out: [Double] = []
        do {
            _ = try await store.process([payment("after")], plan: plan, mode: .update, into: &out)
            Issue.record("a call to an unreachable Redis answered")
        } catch FeatureStoreError.unavailable(let reason) {
            #expect(reason == timedOut)
        }
    }

    @Test("decision-store calls queued behind the two that meet a Redis stuck in connects fail at once without being sent")
    func queuedDecisionStoreCallsAreNotSent() async throws {
        let redis = try UnresponsiveRedis(.unreachable)
        let store = RedisDecisionStore(configuration: RedisConfiguration(
            host: "127.0.0.1", port: redis.port, connectTimeout: .milliseconds(1500), commandTimeout: .seconds(1)
        ))
        let errors = await withTaskGroup(of: String.self) { group in
            for i in 0..<5 {
                group.addTask {
                    do {
                        _ = try await store.values(of: ["waqiti:decision:queued-\(i)"])
                        return "answered"
                    } catch {
                        return "\(error)"
                    }
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        // Two threads: two calls connect at once and both time out; the other three were queued.
        let timedOut = RedisError.connectionFailed(endpoint: "127.0.0.1:\(redis.port)", reason: "Connection timed out").description
        #expect(errors.filter { $0 == timedOut }.count == 2, "\(errors)")
        #expect(errors.filter { $0 == RedisError.notSent(reason: timedOut).description }.count == 3, "\(errors)")
    }
}

/// A Redis host that drops packets costs every connection attempt the whole connect timeout. The
/// batches that meet the outage pay it; once the router is degraded, none may: recovery pings run
/// on the store's own thread while batches are decided on local windows. Before `RecoveryProbe`,
/// one batch per probe interval was the probe and waited out a connect timeout itself.
@Suite("Redis outage and recovery probes")
struct RedisRecoveryProbeTests {
    @Test("while degraded by an unreachable Redis, batches are decided on local windows at once as pings wait out their connects")
    func degradedBatchesDoNotWait() async throws {
        let redis = try UnresponsiveRedis(.unreachable)
        let connectTimeout = Duration.milliseconds(1500)
        let store = RedisFeatureStore(configuration: RedisConfiguration(
            host: "127.0.0.1", port: redis.port, connectTimeout: connectTimeout, commandTimeout: .seconds(1)
        ))
        let pings = Mutex(0)
        let router = FeatureRouter(
            local: InMemoryFeatureStore(), shared: store, storeOf: { _ in .redis }, probeInterval: .milliseconds(100),
            ping: {
                pings.withLock { $0 += 1 }
                return await store.ping()
            },
            logger: Logger(label: "probe-test")
        )
        let plan = FeaturePlan([FeatureSpec(kind: .count, key: .cardFingerprint, window: .hours(1))])
        var values: [Double] = []

        let start = ContinuousClock.now
        let first = try await router.features(for: [payment("p0")], plan: plan, mode: .update, into: &values)
        let firstWaited = ContinuousClock.now - start
        #expect(first.degraded)
        // Healthy until then: the batch and its retry each waited for a connect.
        #expect(firstWaited >= connectTimeout * 2 * 9 / 10)

        var slowest = Duration.zero
        var batches = 0
        // At least 3 s of batches, and on until two pings have started: each ping waits out a
        // connect on the store's thread, and on a loaded machine (other suites holding the
        // cooperative pool) the second one has started later than 3 s in. 15 s bounds the wait.
        let (minimumEnd, end) = (ContinuousClock.now + .seconds(3), ContinuousClock.now + .seconds(15))
        while ContinuousClock.now < end, ContinuousClock.now < minimumEnd || pings.withLock({ $0 }) < 2 {
            batches += 1
            let batchStart = ContinuousClock.now
            let outcome = try await router.features(for: [payment("p\(batches)")], plan: plan, mode: .update, into: &values)
            slowest = max(slowest, ContinuousClock.now - batchStart)
            #expect(outcome.degraded)
            #expect(values == [Double(batches + 1)], "local windows count every event of the card")
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(batches >= 5)
        // Pings are serial, each blocked for a connect timeout: 3 s hold 2 or 3 on an idle machine.
        #expect(pings.withLock { $0 } >= 2)
        // A batch that waited for a connect would take 1.5 s; the margin is for a loaded machine.
        #expect(slowest < .milliseconds(700), "a degraded batch waited \(slowest)")
        #expect(router.sharedState != .healthy)
    }
}

/// The longest a task on `executor` waited for the executor's thread, from `init` to `stop()`: a
/// few milliseconds while the thread is free, the whole wait of a blocking call when a task holds
/// it. A plain thread wakes the task every 5 ms by resuming its continuation, which puts it
/// straight on its executor: no timer of Swift's global pool, which other tests may keep busy
/// (a `Task.sleep` heartbeat waited 25 s beside the Redis oracle tests).
final class Heartbeat: @unchecked Sendable {
    private let lock = NSLock()
    private var waiting: CheckedContinuation<Void, Never>?
    private var resumedAt: ContinuousClock.Instant?
    private var worst = Duration.zero
    private var stopped = false
    private var finished = false
    private var task: Task<Void, Never>?

    init(on executor: any TaskExecutor) {
        task = Task(executorPreference: executor) { [self] in
            while true {
                await withCheckedContinuation { continuation in lock.withLock { waiting = continuation } }
                let now = ContinuousClock.now
                let done = lock.withLock {
                    if let resumedAt { worst = max(worst, now - resumedAt) }
                    return stopped
                }
                if done { break }
            }
            lock.withLock { finished = true }
        }
        Thread.detachNewThread { [self] in
            while true {
                usleep(5_000)
                let (continuation, exit) = lock.withLock { () -> (CheckedContinuation<Void, Never>?, Bool) in
                    if finished { return (nil, true) }
                    let continuation = waiting
                    waiting = nil
                    if continuation != nil { resumedAt = ContinuousClock.now }
                    return (continuation, false)
                }
                if exit { return }
                continuation?.resume()
            }
        }
    }

    func stop() async -> Duration {
        lock.withLock { stopped = true }
        await task?.value
        return lock.withLock { worst }
    }
}
