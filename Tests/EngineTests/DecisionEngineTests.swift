@testable import Engine
import Model
import Rules
import Features
import Simulation
import FraudCore
import Logging
import Synchronization
import Testing
import LocalStackSupport
import MetricsTestKit

private let decidedAt = EventTime(millisecondsSinceEpoch: 1_764_403_260_000)

/// The rule set and model of a test engine, swappable to simulate a hot reload.
struct Components: Sendable {
    var rules: RuleSet
    var model: CompiledModel?

    static func standard(withModel: Bool = true) throws -> Components {
        var plan = FeaturePlan()
        let model = withModel ? try compileTestModel(plan: &plan) : nil
        return Components(rules: try compileTestRules(basePlan: plan), model: model)
    }
}

private func makeEngine(
    components: Swappable<Components>,
    local: CountingStore = CountingStore(), shared: CountingStore? = nil,
    policy: DegradedPolicy = .reviewAbove(usd: 1000), probeInterval: Duration = .zero, pinged: Bool = false,
    stateChanges: Swappable<[SharedStoreState]> = Swappable([]), cacheCapacity: Int = 100, logger: Logger? = nil
) -> DecisionEngine {
    var ping: RecoveryProbe.Ping?
    if pinged, let shared { ping = { await shared.ping() } }
    let router = FeatureRouter(
        local: local, shared: shared, storeOf: { _ in .redis }, probeInterval: probeInterval,
        ping: ping,
        logger: Logger(label: "test"), onStateChange: { state in stateChanges.value.append(state) }
    )
    return DecisionEngine(
        rules: { components.value.rules }, model: { components.value.model }, features: router,
        cache: InMemoryDecisionCache(capacity: cacheCapacity), degradedPolicy: policy, wallClock: { decidedAt }, logger: logger
    )
}

private func makeEngine(
    local: CountingStore = CountingStore(), shared: CountingStore? = nil, withModel: Bool = true,
    policy: DegradedPolicy = .reviewAbove(usd: 1000), probeInterval: Duration = .zero, pinged: Bool = false,
    stateChanges: Swappable<[SharedStoreState]> = Swappable([])
) throws -> DecisionEngine {
    makeEngine(
        components: Swappable(try .standard(withModel: withModel)), local: local, shared: shared,
        policy: policy, probeInterval: probeInterval, pinged: pinged, stateChanges: stateChanges
    )
}

private func velocityReason(_ count: Int64) -> Reason {
    .rule(RuleReason(rule: "card_velocity", action: .decline, points: 50, shadow: false, values: [NamedValue(name: "count(card_fingerprint,10m)", value: .int(count))]))
}
private let shadowReason = Reason.rule(RuleReason(rule: "watch_everything", action: .review, points: 0, shadow: true, values: []))

/// The model scores in Float32, eight logits per SIMD register, every event alike whatever its
/// batch (docs/model.md): within 1e-6 of the exact σ, as `BLASPathTests` checks on wider data.
/// These batches of one to three events once took a scalar double-precision tail and met 1e-9.
private let scoreTolerance = 1e-6

@Suite("DecisionEngine")
struct DecisionEngineTests {
    @Test("combines rules verdicts and model contributions into the decision")
    func combinesRulesAndModel() async throws {
        let engine = try makeEngine()
        let events = [payment("p1"), payment("p2"), payment("p3", minor: 250_000)]
        let decisions = try await engine.decide(events)
        #expect(decisions.map(\.outcome) == [.approve, .approve, .decline])
        #expect(decisions.map(\.riskPoints) == [0, 0, 70])
        for (decision, count) in zip(decisions, [1.0, 2, 3]) {
            #expect(abs(decision.modelScore - sigmoid(count - 2)) < scoreTolerance)
        }
        let third = decisions[2]
        #expect(third.paymentID == "p3")
        #expect(third.reasons.count == 4)
        #expect(Array(third.reasons.prefix(3)) == [
            velocityReason(3),
            .rule(RuleReason(rule: "large_amount", action: .review, points: 20, shadow: false, values: [NamedValue(name: "amount", value: .money(Money(minorUnits: 250_000, currency: .usd)))])),
            shadowReason,
        ])
        #expect(third.reasons.last == .model(ModelContribution(feature: "count(card_fingerprint,10m)", value: 3, contribution: 3)))
        #expect(third.rulesVersion.hasPrefix("test-1+"))
        #expect(third.modelVersion.hasPrefix("velocity@"))
        #expect(third.featuresDegraded == false)
        #expect(third.eventTime == EventTime(millisecondsSinceEpoch: 1_764_403_200_000))
        #expect(third.decidedAt == decidedAt)
        #expect(third.latencyMicros >= 0)
    }

    @Test("one feature-store call per batch over the union of rule and model features")
    func oneStoreCallPerBatch() async throws {
        let local = CountingStore()
        var plan = FeaturePlan()
        let model = try compileTestModel(plan: &plan)
        let rules = try compileTestRules("rule spend: review if sum(amount_usd, account_id, 24h) > 500", basePlan: plan)
        let engine = makeEngine(components: Swappable(Components(rules: rules, model: model)), local: local)
        _ = try await engine.decide([payment("p1"), payment("p2", card: "card-2")])
        #expect(local.calls == [CountingStore.Call(paymentIDs: ["p1", "p2"], features: ["count(card_fingerprint,10m)", "sum(amount_usd,account_id,1d)"], mode: .update)])
    }

    @Test("without a model the score is 0, model_version none, and no contributions")
    func noModel() async throws {
        let engine = try makeEngine(withModel: false)
        let decision = try #require(try await engine.decide([payment("p1")]).first)
        #expect(decision.modelScore == 0)
        #expect(decision.modelVersion == "none")
        #expect(decision.reasons == [shadowReason])
    }

    @Test("a redelivered payment gets the identical decision and changes no window")
    func redeliveryIsIdempotent() async throws {
        let local = CountingStore()
        let engine = try makeEngine(local: local)
        let first = try await engine.decide([payment("p1"), payment("p2")])
        let again = try await engine.decide([payment("p2"), payment("p3")])
        #expect(again[0] == first[1])
        #expect(again[1].outcome == .decline, "p3 is the third distinct payment of the card")
        #expect(local.calls.map(\.paymentIDs) == [["p1", "p2"], ["p3"]])
    }

    @Test("a payment_id answered from the cache for an event at another time is counted and logged as reused; a true redelivery and a dry run are not")
    func reusedPaymentIDIsReported() async throws {
        let metrics = TestMetrics()
        let logs = LogCapture()
        let components = try Components.standard()
        let router = FeatureRouter(local: CountingStore(), shared: nil, storeOf: { _ in .memory }, probeInterval: .zero, logger: Logger(label: "test"))
        let engine = DecisionEngine(
            rules: { components.rules }, model: { components.model }, features: router,
            cache: InMemoryDecisionCache(capacity: 100), degradedPolicy: .decide,
            metrics: EngineMetrics(factory: metrics), wallClock: { decidedAt }, logger: logs.logger
        )
        let first = try await engine.decide([payment("p1"), payment("p2")])
        // p1 again as it was (a redelivery), p2 an hour later with another amount (a reuse), and
        // p2 reused in a dry run, which remembers and counts nothing.
        let later = payment("p2", minor: 900_000, at: 1_764_403_200_000 + 3_600_000)
        let again = try await engine.decide([payment("p1"), later])
        _ = try await engine.decide([later], mode: .readOnly)
        #expect(again == first, "the first decision stands for both")
        #expect(try metrics.expectCounter("waqiti_payment_id_reuses_total").totalValue == 1)
        let warnings = logs.all.filter { $0.message == "payment_id reused for a different event: the id keeps the decision made for the first one, and this event gets none of its own" }
        #expect(warnings.count == 1)
        #expect(warnings.first?.metadata == [
            "payment_id": "p2", "event_time": "2025-11-29T09:00:00.000Z", "decided_event_time": "2025-11-29T08:00:00.000Z", "in_batch": "1",
        ])
    }

    @Test("copies of one payment inside a batch are scored once and share the decision")
    func duplicatesWithinBatch() async throws {
        let local = CountingStore()
        let engine = try makeEngine(local: local)
        let decisions = try await engine.decide([payment("p1"), payment("p1"), payment("p2"), payment("p1")])
        #expect(decisions[0] == decisions[1])
        #expect(decisions[0] == decisions[3])
        #expect(abs(decisions[2].modelScore - sigmoid(0)) < scoreTolerance, "p2 is the second distinct payment of the card")
        #expect(local.calls.map(\.paymentIDs) == [["p1", "p2"]])
    }

    @Test("dry runs read windows but neither update them nor remember the decision")
    func dryRun() async throws {
        let local = CountingStore()
        let engine = try makeEngine(local: local)
        _ = try await engine.decide([payment("p1")], mode: .readOnly)
        let real = try await engine.decide([payment("p1")])
        #expect(local.calls.map(\.mode) == [.readOnly, .update])
        #expect(abs((real.first?.modelScore ?? 0) - sigmoid(-1)) < scoreTolerance)
    }

    @Test("a reload takes effect on the next batch; the plan keeps old columns and adds new ones")
    func reloadSwapsRules() async throws {
        let components = Swappable(try Components.standard(withModel: false))
        let local = CountingStore()
        let engine = makeEngine(components: components, local: local)
        _ = try await engine.decide([payment("p1")])
        // The new file reads a device window the old one did not, and its own card threshold.
        components.value.rules = try compileTestRules("""
        version "test-2"
        rule card_velocity: decline +50 if count(card_fingerprint, 10m) >= 2
        rule device: review if count(device_id, 1h) > 5
        """)
        let decisions = try await engine.decide([payment("p2")])
        #expect(decisions.first?.rulesVersion.hasPrefix("test-2+") == true)
        #expect(decisions.first?.outcome == .decline)
        #expect(engine.currentPlan.features.map(\.canonicalName) == ["count(card_fingerprint,10m)", "count(device_id,1h)"])
        #expect(local.calls.map(\.features) == [["count(card_fingerprint,10m)"], ["count(card_fingerprint,10m)", "count(device_id,1h)"]])
    }

    /// The rules watcher compares a new set with the previous set alone; the engine's plan also
    /// holds the model's features, so only the engine knows which windows really restart.
    @Test("a reload that grows the plan logs exactly which key fields' windows restart; one the model's features already cover logs nothing")
    func planGrowthIsLoggedExactly() async throws {
        var modelPlan = FeaturePlan()
        let model = try compileTestModel(plan: &modelPlan) // reads count(card_fingerprint,10m)
        let first = try compileTestRules("""
        version "a"
        rule device: review if count(device_id, 1h) > 5
        rule card_hour: review if count(card_fingerprint, 1h) > 9
        """)
        let components = Swappable(Components(rules: first, model: model))
        let capture = LogCapture()
        let engine = makeEngine(components: components, logger: capture.logger)
        _ = try await engine.decide([payment("p1")])
        #expect(engine.currentPlan.features.map(\.canonicalName) == ["count(device_id,1h)", "count(card_fingerprint,1h)", "count(card_fingerprint,10m)"])
        #expect(capture.all.isEmpty)

        // A rule on the model's own card window: the watcher, seeing only the two rule sets, says
        // the card windows restart; the engine's plan already had that column, so nothing restarts.
        let second = try compileTestRules("""
        version "b"
        rule device: review if count(device_id, 1h) > 5
        rule card_hour: review if count(card_fingerprint, 1h) > 9
        rule card_burst: decline if count(card_fingerprint, 10m) >= 3
        """)
        #expect(second.restartedKeyFields(replacing: first) == ["card_fingerprint"])
        components.value.rules = second
        _ = try await engine.decide([payment("p2")])
        #expect(capture.all.isEmpty)

        // A new aggregate on the card: its windows restart, the device's do not.
        components.value.rules = try compileTestRules("""
        version "c"
        rule device: review if count(device_id, 1h) > 5
        rule card_spend: review if sum(amount_usd, card_fingerprint, 1h) > 900
        """)
        _ = try await engine.decide([payment("p3")])
        let records = capture.all
        #expect(records.count == 1)
        #expect(records.first?.level == .notice)
        #expect(records.first?.message == "feature plan grew to 4 features; the windows of card_fingerprint restart")
        #expect(records.first?.metadata["features_added"] == "[\"sum(amount_usd,card_fingerprint,1h)\"]")
        #expect(records.first?.metadata["windows_restarted"] == "[\"card_fingerprint\"]")
    }

    @Test("a model whose columns diverged from the engine's plan reads gathered columns")
    func divergedColumnsAreGathered() async throws {
        // Rules compiled alone put the device window in column 0; the model (compiled alone)
        // expects the card window there. The engine's plan is [device, card].
        var modelPlan = FeaturePlan()
        let model = try compileTestModel(plan: &modelPlan)
        let rules = try compileTestRules("rule device: review if count(device_id, 1h) > 5")
        let engine = makeEngine(components: Swappable(Components(rules: rules, model: model)))
        let decisions = try await engine.decide([payment("p1"), payment("p2", card: "card-2"), payment("p3")])
        #expect(engine.currentPlan.features.map(\.canonicalName) == ["count(device_id,1h)", "count(card_fingerprint,10m)"])
        let expected = [1.0, 1, 2].map { sigmoid($0 - 2) }
        for (decision, score) in zip(decisions, expected) { #expect(abs(decision.modelScore - score) < scoreTolerance) }
    }
}

@Suite("Degraded mode")
struct DegradedModeTests {
    @Test("Redis down: local windows, features_degraded, policy applied; Redis back: recovered")
    func degradesAndRecovers() async throws {
        let shared = CountingStore()
        let changes = Swappable<[SharedStoreState]>([])
        let engine = try makeEngine(shared: shared, policy: .reviewAbove(usd: 500), stateChanges: changes)
        _ = try await engine.decide([payment("p1")])
        shared.setUnavailable(true)
        let down = try await engine.decide([payment("p2", minor: 49_999), payment("p3", card: "card-9", minor: 50_000, currency: Currency("EUR")!)])
        #expect(down.map(\.featuresDegraded) == [true, true])
        // 499.99 USD stays approved; 500.00 EUR = 540.00 USD is held for review (no rule matched it).
        #expect(down.map(\.outcome) == [.approve, .review])
        #expect(abs(down[0].modelScore - sigmoid(0)) < scoreTolerance, "local windows still count p1 and p2")
        _ = try await engine.decide([payment("p4")])
        #expect(engine.featureRouter.sharedState == .degraded(reason: "feature store unavailable: connection refused"))
        shared.setUnavailable(false)
        let up = try await engine.decide([payment("p5")])
        #expect(up.first?.featuresDegraded == false)
        #expect(engine.featureRouter.sharedState == .healthy)
        #expect(changes.value == [.degraded(reason: "feature store unavailable: connection refused"), .healthy])
    }

    @Test("a batch Redis fails while healthy is sent once more; a second failure degrades; a probe is not retried")
    func retriesOnceWhileHealthy() async throws {
        let shared = CountingStore()
        let changes = Swappable<[SharedStoreState]>([])
        let engine = try makeEngine(shared: shared, stateChanges: changes)
        shared.failNext(1)
        let retried = try await engine.decide([payment("p1")])
        #expect(retried.map(\.featuresDegraded) == [false])
        #expect(shared.failedCalls == 1)
        #expect(shared.calls.map(\.paymentIDs) == [["p1"]])
        #expect(changes.value == [])

        shared.failNext(2)
        let degraded = try await engine.decide([payment("p2")])
        #expect(degraded.map(\.featuresDegraded) == [true])
        #expect(shared.failedCalls == 3)
        #expect(changes.value == [.degraded(reason: "feature store unavailable: timed out")])

        // Degraded (probe interval zero): each batch probes once, and a failed probe is not repeated.
        shared.failNext(2)
        let probed = try await engine.decide([payment("p3")])
        #expect(probed.map(\.featuresDegraded) == [true])
        #expect(shared.failedCalls == 4)
        let recovered = try await engine.decide([payment("p4")])
        #expect(recovered.map(\.featuresDegraded) == [true], "the probe met the last planned failure")
        #expect(shared.failedCalls == 5)
        let healthy = try await engine.decide([payment("p5")])
        #expect(healthy.map(\.featuresDegraded) == [false])
        #expect(shared.calls.map(\.paymentIDs) == [["p1"], ["p5"]])
        #expect(changes.value == [.degraded(reason: "feature store unavailable: timed out"), .healthy])
    }

    @Test("while degraded, Redis is tried at most once per probe interval")
    func probesAtInterval() async throws {
        let shared = CountingStore()
        let engine = try makeEngine(shared: shared, probeInterval: .seconds(3600))
        shared.setUnavailable(true)
        _ = try await engine.decide([payment("p1")])
        shared.setUnavailable(false)
        let still = try await engine.decide([payment("p2")])
        #expect(still.first?.featuresDegraded == true)
        #expect(shared.calls.isEmpty)
    }

    @Test("with a ping, no degraded batch tries Redis: pings run off the decision path until one answers, and the next batch ends degraded mode")
    func pingsOffTheDecisionPath() async throws {
        let shared = CountingStore()
        let changes = Swappable<[SharedStoreState]>([])
        let engine = try makeEngine(shared: shared, probeInterval: .milliseconds(20), pinged: true, stateChanges: changes)
        shared.setUnavailable(true)
        #expect(try await engine.decide([payment("p1")]).map(\.featuresDegraded) == [true])
        #expect(shared.attempts == 2, "tried, and retried while healthy")

        // Pings go on without traffic; batches meanwhile are decided on local windows and never
        // try the store themselves.
        // (Generous: other tests can starve the sleeps of Swift's global pool for many seconds.)
        try await waitUntil(timeout: .seconds(90)) { shared.pings >= 3 }
        #expect(try await engine.decide([payment("p2")]).map(\.featuresDegraded) == [true])
        #expect(try await engine.decide([payment("p3")]).map(\.featuresDegraded) == [true])
        #expect(shared.attempts == 2)

        // Redis is back: a ping answers, then pings stop and the next batch uses Redis.
        shared.setUnavailable(false)
        await engine.featureRouter.settleProbe()
        let pings = shared.pings
        try await Task.sleep(for: .milliseconds(100))
        #expect(shared.pings == pings, "no ping after one answered")
        #expect(engine.featureRouter.sharedState != .healthy, "a ping alone does not end degraded mode")
        #expect(try await engine.decide([payment("p4")]).map(\.featuresDegraded) == [false])
        #expect(shared.attempts == 3)
        #expect(shared.calls.map(\.paymentIDs) == [["p4"]])
        #expect(engine.featureRouter.sharedState == .healthy)
        #expect(changes.value == [.degraded(reason: "feature store unavailable: connection refused"), .healthy])
    }

    @Test("a batch that fails after a ping answered stays degraded, without a retry, and the pings start over")
    func failureAfterAnsweredPing() async throws {
        let shared = CountingStore()
        let engine = try makeEngine(shared: shared, probeInterval: .milliseconds(20), pinged: true)
        shared.failNext(2)
        _ = try await engine.decide([payment("p1")])
        #expect(shared.failedCalls == 2)
        await engine.featureRouter.settleProbe()
        #expect(shared.pings == 1)

        // Redis answers pings but times out the work: one try, no retry while degraded.
        shared.failNext(1)
        #expect(try await engine.decide([payment("p2")]).map(\.featuresDegraded) == [true])
        #expect(shared.failedCalls == 3)
        // That failure used the answer up: this batch does not try.
        #expect(try await engine.decide([payment("p3")]).map(\.featuresDegraded) == [true])
        #expect(shared.attempts == 3)
        await engine.featureRouter.settleProbe()
        #expect(shared.pings == 2)
        #expect(try await engine.decide([payment("p4")]).map(\.featuresDegraded) == [false])
    }

    @Test("degraded policy", arguments: [
        (DegradedPolicy.decide, Outcome.approve, Int64(500_000), Outcome.approve),
        (.reviewAll, .approve, 100, .review),
        (.reviewAbove(usd: 1000), .approve, 100_000, .approve),
        (.reviewAbove(usd: 1000), .approve, 100_001, .review),
        (.reviewAbove(usd: 1000), .decline, 100_001, .decline),
        (.reviewAll, .decline, 100, .decline),
    ])
    func policy(policy: DegradedPolicy, outcome: Outcome, minor: Int64, expected: Outcome) {
        #expect(policy.adjust(outcome, amount: Money(minorUnits: minor, currency: .usd), rates: .builtIn) == expected)
    }

    @Test("an amount in a currency without a rate counts as large")
    func unknownRateReviews() {
        let amount = Money(minorUnits: 1, currency: Currency("ZAR")!)
        #expect(DegradedPolicy.reviewAbove(usd: 1000).adjust(.approve, amount: amount, rates: .builtIn) == .review)
    }
}

/// `waqiti replay --workers 2`'s loop: batch n + 1 is prepared (its payments looked up, its
/// windows updated) while batch n is finished (scored, remembered); `prepareFirst[n]` says
/// whether batch n + 1's `prepare` ran before batch n's `finish` or after it (a lock-step stand-in
/// for the two threads' timing, both orders of which happen).
private func decideOverlapped(_ batches: [[PaymentEvent]], engine: DecisionEngine, prepareFirst: [Bool]) async throws -> [[Decision]] {
    var results: [[Decision]] = []
    var prepared = try await engine.prepare(batches[0])
    for n in batches.indices {
        let following = n + 1 < batches.count
        var next: PreparedBatch?
        if following && prepareFirst[n] { next = try await engine.prepare(batches[n + 1]) }
        results.append(await engine.finish(prepared))
        if following && !prepareFirst[n] { next = try await engine.prepare(batches[n + 1]) }
        if let next { prepared = next }
    }
    return results
}

/// Decisions as the replay writes them: no wall-clock latency.
private func reproducible(_ batches: [[Decision]]) -> [[Decision]] {
    batches.map { $0.map { var decision = $0; decision.latencyMicros = 0; return decision } }
}

@Suite("DecisionEngine, overlapped batches")
struct OverlappedBatchTests {
    private static func sequential(_ batches: [[PaymentEvent]], capacity: Int) async throws -> (decisions: [[Decision]], calls: [[String]]) {
        let local = CountingStore()
        let engine = makeEngine(components: Swappable(try .standard()), local: local, cacheCapacity: capacity)
        var decisions: [[Decision]] = []
        for batch in batches { decisions.append(try await engine.decide(batch)) }
        return (reproducible(decisions), local.calls.map(\.paymentIDs))
    }

    private static func overlapped(_ batches: [[PaymentEvent]], capacity: Int, prepareFirst: [Bool]) async throws -> (decisions: [[Decision]], calls: [[String]]) {
        let local = CountingStore()
        let engine = makeEngine(components: Swappable(try .standard()), local: local, cacheCapacity: capacity)
        let decisions = try await decideOverlapped(batches, engine: engine, prepareFirst: prepareFirst)
        return (reproducible(decisions), local.calls.map(\.paymentIDs))
    }

    /// The engine's precondition "payment p was in flight but its decision is not remembered"
    /// stopped this run: p, decided first and so the oldest in a full cache of four, is found
    /// by batch B's prepare just before batch A's finish pushes it out; batch C carries p too,
    /// waits for B, and B had answered p from the cache without remembering it again.
    @Test("a payment at the cache's horizon, redelivered in consecutive batches, is decided as on one thread")
    func horizonRedeliveryAcrossOverlappedBatches() async throws {
        let batches = [
            [payment("p")], [payment("a1"), payment("a2"), payment("a3")],
            [payment("x1")], [payment("p"), payment("y1")], [payment("p"), payment("z1")],
        ]
        let prepareFirst = [false, false, true, true, true]
        let one = try await Self.sequential(batches, capacity: 4)
        let two = try await Self.overlapped(batches, capacity: 4, prepareFirst: prepareFirst)
        #expect(two.decisions == one.decisions)
        #expect(two.calls == one.calls, "the same events reach the windows")
        // One thread: x1 pushed p out, so B decides p anew and C gets B's decision.
        #expect(one.calls[3] == ["p", "y1"])
        #expect(one.decisions[4][0] == one.decisions[3][0])
        #expect(one.decisions[3][0] != one.decisions[0][0])
    }

    @Test("redeliveries at every distance, caches from below one batch to many, both timings: the decisions and windows of one thread", arguments: [3, 5, 8, 13, 40])
    func matchesOneThread(capacity: Int) async throws {
        var generator = SimulationRandom(seed: UInt64(capacity))
        var firstDeliveries: [PaymentEvent] = []
        var events: [PaymentEvent] = []
        for _ in 0..<240 {
            // A new payment, or one of the last 30 again (some of them copies in one batch).
            if firstDeliveries.isEmpty || generator.next() % 3 != 0 {
                firstDeliveries.append(payment("p\(firstDeliveries.count)", card: "card-\(generator.next() % 4)"))
                events.append(firstDeliveries.last!)
            } else {
                events.append(firstDeliveries[firstDeliveries.count - 1 - Int(generator.next() % UInt64(min(30, firstDeliveries.count)))])
            }
        }
        let batches = stride(from: 0, to: events.count, by: 4).map { Array(events[$0..<min($0 + 4, events.count)]) }
        let one = try await Self.sequential(batches, capacity: capacity)
        for pattern in 0..<3 {
            let prepareFirst = batches.indices.map { _ in pattern == 2 ? generator.next() % 2 == 0 : pattern == 0 }
            let two = try await Self.overlapped(batches, capacity: capacity, prepareFirst: prepareFirst)
            #expect(two.decisions == one.decisions, "capacity \(capacity), pattern \(pattern)")
            #expect(two.calls == one.calls, "capacity \(capacity), pattern \(pattern)")
        }
    }
}

@Suite("InMemoryDecisionCache")
struct DecisionCacheTests {
    @Test("forgets the oldest decision once full")
    func evictsOldest() async {
        let cache = InMemoryDecisionCache(capacity: 2)
        let decisions = ["a", "b", "c"].map {
            Decision(paymentID: $0, outcome: .approve, modelScore: 0, riskPoints: 0, reasons: [], rulesVersion: "r", modelVersion: "m",
                     featuresDegraded: false, eventTime: decidedAt, decidedAt: decidedAt, latencyMicros: 1)
        }
        #expect(await cache.remember(decisions) == decisions)
        let found = await cache.decisions(for: ["a", "b", "c"])
        #expect(found.map { $0?.paymentID } == [nil, "b", "c"])
        #expect(cache.count == 2)
    }

    @Test("eviction goes round and round: after seven decisions in capacity three, the last three are remembered")
    func evictsAroundTheRing() async {
        let cache = InMemoryDecisionCache(capacity: 3)
        let decision = { (id: String, points: Int) in
            Decision(paymentID: id, outcome: .approve, modelScore: 0, riskPoints: points, reasons: [], rulesVersion: "r", modelVersion: "m",
                     featuresDegraded: false, eventTime: decidedAt, decidedAt: decidedAt, latencyMicros: 1)
        }
        _ = await cache.remember(["a", "b", "c", "d"].map { decision($0, 1) })
        // "d" again among new payments: its first decision stands and the repeat takes no slot,
        // so "e", "f" and "g" evict exactly "b", "c" and "d" (the oldest, in order).
        let standing = await cache.remember([decision("e", 2), decision("d", 2), decision("f", 2), decision("g", 2)])
        #expect(standing.map(\.riskPoints) == [2, 1, 2, 2])
        let found = await cache.decisions(for: ["a", "b", "c", "d", "e", "f", "g"])
        #expect(found.map { $0?.paymentID } == [nil, nil, nil, nil, "e", "f", "g"])
        #expect(cache.count == 3)
    }

    @Test("a payment remembered twice keeps its first decision, and returns it to the second caller")
    func firstDecisionStands() async {
        let cache = InMemoryDecisionCache(capacity: 4)
        let first = Decision(paymentID: "a", outcome: .decline, modelScore: 0, riskPoints: 50, reasons: [], rulesVersion: "r", modelVersion: "m",
                             featuresDegraded: false, eventTime: decidedAt, decidedAt: decidedAt, latencyMicros: 1)
        var second = first
        second.outcome = .approve
        #expect(await cache.remember([first]) == [first])
        #expect(await cache.remember([second]) == [first])
        #expect(await cache.decisions(for: ["a"]) == [first])
        #expect(cache.count == 1)
    }
}
