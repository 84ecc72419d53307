import Engine
import Features
import FraudCore
import Logging
import Rules
import Simulation
import Synchronization
import Testing
@testable import Model

/// Train/serve consistency: the model features `waqiti train` computes for an event equal, bit for
/// bit, those the streaming engine feeds its model for the same event stream. The serving side is
/// the engine's own `DecisionEngine.decide` (decision cache, feature router, plan binding of the
/// rules' and the model's features, extraction, scoring), observed at the scorer's input; 50,000
/// simulated events with arrival disorder and redeliveries, in batches of varying size.
@Suite struct TrainServeConsistencyTests {
    static let rulesFile = ShippedModelTests.models.deletingLastPathComponent().appendingPathComponent("rules/default.rules").path
    static let modelFile = ShippedModelTests.models.appendingPathComponent("default.json").path

    @Test func trainingFeaturesEqualTheEngineFeaturesForEveryEvent() async throws {
        var delivery = try SimulatedDelivery(SimulationConfiguration(
            events: 50_000, seed: 5, disorder: EventDuration(milliseconds: 30_000), duplicateRate: 0.01
        ))
        var events: [PaymentEvent] = []
        while let event = delivery.next() { events.append(event) }
        let spec = try TrainingSpec.load(path: ShippedModelTests.models.appendingPathComponent("spec.json").path)
        let p = spec.features.count

        // Training: the model's plan alone, batches of 1024, as `waqiti train` runs.
        var trainingPlan = FeaturePlan()
        let trainingExtractor = try ModelFeatureExtractor(expressions: spec.features, plan: &trainingPlan, origin: "spec.json")
        let replay = TrainingReplay(extractor: trainingExtractor, plan: trainingPlan, store: InMemoryFeatureStore())
        var trainingRows: [String: ArraySlice<Double>] = [:]
        for start in stride(from: 0, to: events.count, by: 1024) {
            let batch = Array(events[start..<min(start + 1024, events.count)])
            let raw = try await replay.process(batch)
            for (i, event) in batch.enumerated() where trainingRows[event.paymentID] == nil {
                trainingRows[event.paymentID] = raw[(i * p)..<((i + 1) * p)]
            }
        }
        #expect(replay.matrix.rows == trainingRows.count)

        // Serving: the engine with the shipped rules and the shipped model (trained on this spec),
        // compiled onto the rules' plan as the model watcher does.
        let rules = try RuleSetLoader(rulesPath: Self.rulesFile).load()
        var servingPlan = rules.featurePlan
        let model = try CompiledModel.load(path: Self.modelFile, plan: &servingPlan)
        #expect(model.model.features.map(\.expression) == spec.features)
        #expect(servingPlan.count > trainingPlan.count)
        let served = Mutex<[String: [Double]]>([:])
        let scoredTwice = Mutex(0)
        let scorers = ScorerPool { batch in
            served.withLock { served in
                for (i, event) in batch.events.enumerated() {
                    if served[event.paymentID] != nil { scoredTwice.withLock { $0 += 1 } }
                    served[event.paymentID] = Array(batch.raw[(i * p)..<((i + 1) * p)])
                }
            }
        }
        let engine = DecisionEngine(
            rules: { rules }, model: { model },
            features: FeatureRouter(local: InMemoryFeatureStore(), shared: nil, storeOf: { _ in .memory }, probeInterval: .seconds(1), logger: Logger(label: "test")),
            cache: InMemoryDecisionCache(capacity: 100_000), degradedPolicy: .decide, scorers: scorers
        )
        var start = 0, size = 1, decided = 0
        while start < events.count {
            let batch = Array(events[start..<min(start + size, events.count)])
            decided += try await engine.decide(batch).count
            start += size
            size = size % 500 + 37 // 1, 38, 75, … : batch boundaries fall everywhere
        }
        #expect(decided == events.count)
        #expect(scorers.idleCount == 1, "the engine scored every batch with one reused scorer")

        let servedRows = served.withLock { $0 }
        #expect(scoredTwice.withLock { $0 } == 0, "a redelivered payment reached the model again")
        #expect(servedRows.count == trainingRows.count)
        var compared = 0, mismatches: [String] = []
        for (paymentID, trained) in trainingRows {
            guard let row = servedRows[paymentID] else { mismatches.append("\(paymentID): never reached the model"); continue }
            for (column, (servedValue, trainedValue)) in zip(row, trained).enumerated() {
                compared += 1
                if servedValue.bitPattern != trainedValue.bitPattern, mismatches.count < 5 {
                    mismatches.append("\(paymentID) \(spec.features[column]): served \(servedValue), trained \(trainedValue)")
                }
            }
        }
        #expect(compared == trainingRows.count * p, "every feature of every event compared")
        #expect(mismatches.isEmpty, "\(mismatches)")
    }
}
