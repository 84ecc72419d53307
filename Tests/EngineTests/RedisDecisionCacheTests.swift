@testable import Engine
import Features
import FraudCore
import Logging
import Redis
import Synchronization
import Testing

/// Test double of Redis for the decision cache: a dictionary with the TTL of each key, every
/// round trip recorded, and a switch that makes it unreachable.
final class FakeDecisionStore: SharedDecisionStore {
    enum Call: Equatable {
        case values(keys: [String])
        case storeIfAbsent(keys: [String], ttl: Duration)
    }

    private struct State {
        var entries: [String: (value: [UInt8], ttl: Duration)] = [:]
        var calls: [Call] = []
        var unavailable = false
        var pings = 0
    }

    private let state = Mutex(State())

    var calls: [Call] { state.withLock { $0.calls } }
    /// `ping` calls so far (not in `calls`).
    var pings: Int { state.withLock { $0.pings } }
    func setUnavailable(_ value: Bool) { state.withLock { $0.unavailable = value } }
    func put(_ key: String, _ value: [UInt8]) { state.withLock { $0.entries[key] = (value, .seconds(60)) } }
    func ttl(of key: String) -> Duration? { state.withLock { $0.entries[key]?.ttl } }
    var keys: Set<String> { state.withLock { Set($0.entries.keys) } }

    func values(of keys: [String]) throws -> [[UInt8]?] {
        try state.withLock { state in
            if state.unavailable { throw RedisError.connectionFailed(endpoint: "127.0.0.1:1", reason: "Connection refused") }
            state.calls.append(.values(keys: keys))
            return keys.map { state.entries[$0]?.value }
        }
    }

    func ping() async -> Bool {
        state.withLock { state in
            state.pings += 1
            return !state.unavailable
        }
    }

    func storeIfAbsent(_ entries: [(key: String, value: [UInt8])], ttl: Duration) throws -> [[UInt8]?] {
        try state.withLock { state in
            if state.unavailable { throw RedisError.connectionFailed(endpoint: "127.0.0.1:1", reason: "Connection refused") }
            state.calls.append(.storeIfAbsent(keys: entries.map(\.key), ttl: ttl))
            return entries.map { entry in
                if let existing = state.entries[entry.key] { return existing.value }
                state.entries[entry.key] = (entry.value, ttl)
                return nil
            }
        }
    }
}

private let decidedAt = EventTime(millisecondsSinceEpoch: 1_764_403_260_000)

func cachedDecision(_ id: String, _ outcome: Outcome = .approve, score: Double = 0.123456789012345) -> Decision {
    Decision(
        paymentID: id, outcome: outcome, modelScore: score, riskPoints: 20,
        reasons: [.rule(RuleReason(rule: "large_amount", action: .review, points: 20, shadow: false, values: [
            NamedValue(name: "amount", value: .money(Money(minorUnits: 250_000, currency: .usd))),
        ]))],
        rulesVersion: "r-1", modelVersion: "m-1", featuresDegraded: false,
        eventTime: EventTime(millisecondsSinceEpoch: 1_764_403_200_000), decidedAt: decidedAt, latencyMicros: 812
    )
}

private func makeCache(_ store: FakeDecisionStore, probeInterval: Duration = .zero) -> RedisDecisionCache {
    RedisDecisionCache(
        store: store, local: InMemoryDecisionCache(capacity: 100), horizon: .seconds(86_400),
        probeInterval: probeInterval, logger: Logger(label: "test")
    )
}

@Suite("RedisDecisionCache")
struct RedisDecisionCacheTests {
    @Test("a decision remembered by one instance is found, byte-identical, by a fresh one (restart or another instance)")
    func sharedAcrossInstances() async {
        let store = FakeDecisionStore()
        let first = makeCache(store)
        let decisions = [cachedDecision("p1"), cachedDecision("p2", .decline, score: 0.987654321)]
        #expect(await first.remember(decisions) == decisions)

        let restarted = makeCache(store)
        let found = await restarted.decisions(for: ["p2", "p3", "p1"])
        let encoder = DecisionEncoder()
        #expect(found.map { $0.map(encoder.encode) } == [encoder.encode(decisions[1]), nil, encoder.encode(decisions[0])])
    }

    @Test("one round trip per batch: the lookup reads every key at once, remembering writes every key with the horizon as TTL")
    func oneRoundTripPerBatch() async {
        let store = FakeDecisionStore()
        let cache = makeCache(store)
        _ = await cache.decisions(for: ["a", "b", "c"])
        _ = await cache.remember([cachedDecision("a"), cachedDecision("b")])
        #expect(store.calls == [
            .values(keys: ["waqiti:decision:a", "waqiti:decision:b", "waqiti:decision:c"]),
            .storeIfAbsent(keys: ["waqiti:decision:a", "waqiti:decision:b"], ttl: .seconds(86_400)),
        ])
        #expect(store.ttl(of: "waqiti:decision:a") == .seconds(86_400))
    }

    @Test("when another instance decided the payment first, its decision stands and is returned")
    func firstDecisionStands() async {
        let store = FakeDecisionStore()
        let other = cachedDecision("p1", .decline)
        _ = await makeCache(store).remember([other])
        let cache = makeCache(store)
        let mine = cachedDecision("p1", .approve)
        #expect(await cache.remember([mine, cachedDecision("p2")]) == [other, cachedDecision("p2")])
        // The local copy agrees, so an outage right now still answers the standing decision.
        store.setUnavailable(true)
        #expect(await cache.decisions(for: ["p1"]) == [other])
    }

    @Test("Redis down: answers from this instance's decisions, pings once per probe interval off the decision path, and finds them after Redis returns")
    func degradesToLocal() async throws {
        let store = FakeDecisionStore()
        let cache = makeCache(store, probeInterval: .milliseconds(200))
        _ = await cache.remember([cachedDecision("before")])
        store.setUnavailable(true)
        #expect(await cache.decisions(for: ["before", "during"]) == [cachedDecision("before"), nil])
        #expect(cache.unavailableReason == "cannot connect to Redis at 127.0.0.1:1: Connection refused; check that redis-server runs there (deploy/local/start.sh redis)")
        #expect(await cache.remember([cachedDecision("during")]) == [cachedDecision("during")])
        let callsWhileDown = store.calls.count

        store.setUnavailable(false)
        // Within the probe interval Redis is not asked, even though it is back.
        #expect(await cache.decisions(for: ["during"]) == [cachedDecision("during")])
        #expect(store.calls.count == callsWhileDown)
        // A ping an interval after the failure, off the decision path, finds Redis back.
        await cache.settleProbe()
        #expect(store.pings >= 1)
        #expect(store.calls.count == callsWhileDown)
        #expect(cache.unavailableReason != nil)
        // The next batch uses Redis, which ends the outage.
        #expect(await cache.decisions(for: ["during", "before"]) == [cachedDecision("during"), cachedDecision("before")])
        #expect(store.calls.count == callsWhileDown + 1)
        #expect(cache.unavailableReason == nil)
        // Decided during the outage, so only this instance knows it; Redis has the one from before.
        #expect(store.keys == ["waqiti:decision:before"])
    }

    @Test("an unreadable stored value counts as absent rather than failing the batch")
    func unreadableValueIsAbsent() async {
        let store = FakeDecisionStore()
        store.put("waqiti:decision:p1", Array("{\"payment_id\":".utf8))
        let cache = makeCache(store)
        #expect(await cache.decisions(for: ["p1"]) == [nil])
        #expect(await cache.remember([cachedDecision("p1")]) == [cachedDecision("p1")])
    }

    @Test("through the engine: after a restart a redelivered payment gets the identical decision and touches no window")
    func engineRestart() async throws {
        let store = FakeDecisionStore()
        let components = try Components.standard()
        func engine(_ features: CountingStore) -> DecisionEngine {
            let router = FeatureRouter(local: features, shared: nil, storeOf: { _ in .memory }, probeInterval: .zero, logger: Logger(label: "test"))
            return DecisionEngine(
                rules: { components.rules }, model: { components.model }, features: router,
                cache: makeCache(store), degradedPolicy: .decide, wallClock: { decidedAt }
            )
        }
        let events = [payment("p1"), payment("p2"), payment("p3", minor: 250_000)]
        let before = try await engine(CountingStore()).decide(events)
        let windows = CountingStore()
        let after = try await engine(windows).decide(events.reversed())
        #expect(after == Array(before.reversed()))
        #expect(windows.calls.isEmpty)
    }
}
