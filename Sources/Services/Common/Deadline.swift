import Synchronization

/// Runs `operation` and answers with its result, or throws `timeout()` once `limit` has passed,
/// whichever comes first; the other is cancelled.
///
/// The caller is not made to wait for a cancelled operation to end: on Linux URLSession runs a
/// cancelled request to its end, and a request it lost never ends at all (its own
/// `timeoutIntervalForRequest` is measured between bytes and is not a bound on the exchange).
/// The operation is left to finish on its own.
func withDeadline<T: Sendable>(
    _ limit: Duration, timeout: @escaping @Sendable () -> any Error,
    _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    let race = FirstAnswer<T>()
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { continuation in
            race.start(continuation, racing: [
                Task {
                    do { race.finish(.success(try await operation())) } catch { race.finish(.failure(error)) }
                },
                Task {
                    guard (try? await Task.sleep(for: limit)) != nil else { return }
                    race.finish(.failure(timeout()))
                },
            ])
        }
    } onCancel: {
        race.finish(.failure(CancellationError()))
    }
}

/// Resumes the caller with the first answer of the tasks it races, and cancels them all then
/// (the deadline's timer included, so no sleeping task outlives a request that was answered).
private final class FirstAnswer<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<T, any Error>?
        var tasks: [Task<Void, Never>] = []
        var answered = false
        var answer: Result<T, any Error>?
    }

    private let state = Mutex(State())

    func start(_ continuation: CheckedContinuation<T, any Error>, racing tasks: [Task<Void, Never>]) {
        // A task may answer (or the caller be cancelled) before the continuation is stored.
        let early = state.withLock { state -> Result<T, any Error>? in
            if state.answered { return state.answer }
            state.continuation = continuation
            state.tasks = tasks
            return nil
        }
        guard let early else { return }
        continuation.resume(with: early)
        tasks.forEach { $0.cancel() }
    }

    func finish(_ result: Result<T, any Error>) {
        let (continuation, tasks) = state.withLock { state -> (CheckedContinuation<T, any Error>?, [Task<Void, Never>]) in
            guard !state.answered else { return (nil, []) }
            state.answered = true
            state.answer = result
            defer { state.continuation = nil; state.tasks = [] }
            return (state.continuation, state.tasks)
        }
        continuation?.resume(with: result)
        tasks.forEach { $0.cancel() }
    }
}
