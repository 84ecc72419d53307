import Synchronization

/// Holds what a command built until the process exits, so it is never freed object by object.
///
/// A backtest's windows and remembered decisions are millions of small heap objects; releasing
/// them one at a time after the last decision was written cost about 6% of a replay's CPU
/// (`perf record -e cpu-clock -g waqiti replay --input F --rules rules/default.rules --model
/// models/default.json --decisions-out D --quiet` over 300,000 events of `waqiti simulate --seed
/// 42`), for memory the kernel takes back in one step at exit anyway. `waqiti-bench replay` frees
/// each run's engine after its clock stops, to match. Static storage is never deinitialized when
/// the process ends.
enum ProcessLifetime {
    private static let kept = Mutex<[any Sendable]>([])

    static func keepUntilExit(_ value: any Sendable) {
        kept.withLock { $0.append(value) }
    }
}
