import ThreadName
#if canImport(Glibc)
import Glibc
#endif

/// Runs blocking calls (hiredis connects and round trips) on threads of its own and resumes the
/// awaiting task with the result, so a Redis that stops answering holds these threads, never the
/// few threads of Swift's cooperative pool that run the pipeline, the HTTP handlers and the health
/// checks. The role of NIO's `NIOThreadPool`, without NIO in the Redis wrapper.
///
/// At most `threads` calls block at once; the others wait in a queue as suspended tasks, which cost
/// no thread. The threads start on first use; they keep the executor alive until its owner calls
/// `shutdown()` (`RedisFeatureStore` does when it goes), then finish the queued calls and stop.
/// A call that is queued when its task is cancelled still runs: hiredis cannot be interrupted, and
/// the caller's state (a store's log cursors) must see every call through.
public final class BlockingExecutor: @unchecked Sendable {
    public let name: String
    public let threads: Int
    // A pthread mutex and condition rather than `Mutex`: idle threads sleep until a call comes.
    private let lock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wakeUp = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    // Guarded by `lock`.
    private var queue: [() -> Void] = []
    private var head = 0
    private var started = 0
    private var idle = 0
    private var stopping = false

    /// - Parameters:
    ///   - name: the threads' name in `top -H` and `perf` (the kernel keeps 15 bytes).
    ///   - threads: how many calls may block at once.
    public init(name: String, threads: Int = 1) {
        precondition(threads > 0, "a BlockingExecutor needs at least one thread")
        self.name = name
        self.threads = threads
        pthread_mutex_init(lock, nil)
        pthread_cond_init(wakeUp, nil)
    }

    deinit {
        // The threads hold the executor until they stop, so none is left to use the lock.
        pthread_cond_destroy(wakeUp)
        pthread_mutex_destroy(lock)
        lock.deallocate()
        wakeUp.deallocate()
    }

    /// Runs `body` on one of the executor's threads; the calling task is suspended meanwhile.
    public func run<Value: Sendable, Failure: Error>(_ body: @escaping @Sendable () throws(Failure) -> Value) async throws(Failure) -> Value {
        let result: Result<Value, Failure> = await withUnsafeContinuation { continuation in
            enqueue {
                do throws(Failure) {
                    continuation.resume(returning: .success(try body()))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
        return try result.get()
    }

    /// Stops the threads once the calls queued now have run; a later call is a programming error
    /// (a precondition failure).
    public func shutdown() {
        pthread_mutex_lock(lock)
        stopping = true
        pthread_cond_broadcast(wakeUp)
        pthread_mutex_unlock(lock)
    }

    /// Queues `job` for a thread (internal for tests: a job held by nothing else).
    func enqueue(_ job: @escaping () -> Void) {
        pthread_mutex_lock(lock)
        precondition(!stopping, "BlockingExecutor '\(name)' was shut down")
        queue.append(job)
        let spawn = idle == 0 && started < threads
        if spawn { started += 1 } else { pthread_cond_signal(wakeUp) }
        pthread_mutex_unlock(lock)
        if spawn { startThread() }
    }

    private func startThread() {
        let context = Unmanaged.passRetained(Worker(executor: self)).toOpaque()
        var thread = pthread_t()
        let created = pthread_create(&thread, nil, { context in
            let worker = Unmanaged<Worker>.fromOpaque(context!).takeRetainedValue()
            worker.executor.work()
            return nil
        }, context)
        // Without a thread the queued calls would never resume: no way to go on.
        precondition(created == 0, "BlockingExecutor '\(name)' cannot start a thread: error \(created)")
        pthread_detach(thread)
    }

    /// One thread's loop: the next queued call, or sleep until there is one.
    private func work() {
        ThreadName.setCurrent(name)
        pthread_mutex_lock(lock)
        while true {
            if head < queue.count {
                // The job leaves the queue (a capture-free placeholder takes its place) and is
                // released before the lock is taken again: it may hold the last reference to the
                // executor's owner, whose deinit calls `shutdown()`, which takes this lock. Released
                // under it, a store freed by its own last call deadlocked this thread.
                var job: (() -> Void)? = queue[head]
                queue[head] = Self.done
                head += 1
                if head == queue.count {
                    queue.removeAll(keepingCapacity: true)
                    head = 0
                }
                pthread_mutex_unlock(lock)
                job!()
                job = nil
                pthread_mutex_lock(lock)
            } else if stopping {
                break
            } else {
                idle += 1
                pthread_cond_wait(wakeUp, lock)
                idle -= 1
            }
        }
        started -= 1
        pthread_mutex_unlock(lock)
    }

    /// What a run job leaves in the queue: captures nothing, so dropping it frees nothing.
    private static let done: @Sendable () -> Void = {}

    /// What a new thread holds: the executor, retained until the thread stops.
    private final class Worker {
        let executor: BlockingExecutor
        init(executor: BlockingExecutor) { self.executor = executor }
    }
}
