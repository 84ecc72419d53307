import Features
import FraudCore
import Rules
import Simulation
import Testing
@testable import Model

/// Train/serve consistency: the model features `waqiti train` computes for an event equal, bit for
/// bit, those computed when the same stream is served in the engine's shape: a plan that starts
/// with the rules' features, batches of varying size, the same extractor type. 50,000 simulated
/// events with arrival disorder and redeliveries.
@Suite struct TrainServeConsistencyTests {
    static let rulesFile = ShippedModelTests.models.deletingLastPathComponent().appendingPathComponent("rules/default.rules").path

    @Test func trainingFeaturesEqualServingFeaturesForEveryEvent() async throws {
        var delivery = try SimulatedDelivery(SimulationConfiguration(
            events: 50_000, seed: 5, disorder: EventDuration(milliseconds: 30_000), duplicateRate: 0.01
        ))
        var events: [PaymentEvent] = []
        while let event = delivery.next() { events.append(event) }
        let spec = try TrainingSpec.load(path: ShippedModelTests.models.appendingPathComponent("spec.json").path)

        // Training: the model's plan alone, batches of 1024, as `waqiti train` runs.
        var trainingPlan = FeaturePlan()
        let trainingExtractor = try ModelFeatureExtractor(expressions: spec.features, plan: &trainingPlan, origin: "spec.json")
        let replay = TrainingReplay(extractor: trainingExtractor, plan: trainingPlan, store: InMemoryFeatureStore())
        var trainingRows: [String: ArraySlice<Double>] = [:]
        let p = spec.features.count
        for start in stride(from: 0, to: events.count, by: 1024) {
            let batch = Array(events[start..<min(start + 1024, events.count)])
            let raw = try await replay.process(batch)
            for (i, event) in batch.enumerated() where trainingRows[event.paymentID] == nil {
                trainingRows[event.paymentID] = raw[(i * p)..<((i + 1) * p)]
            }
        }
        #expect(replay.matrix.rows == trainingRows.count)

        // Serving: the rules' features first, the model's appended, uneven batches.
        let rules = try RuleSetLoader(rulesPath: Self.rulesFile).load()
        var servingPlan = rules.featurePlan
        let servingExtractor = try ModelFeatureExtractor(expressions: spec.features, plan: &servingPlan, origin: "spec.json")
        #expect(servingPlan.count > trainingPlan.count)
        let store = InMemoryFeatureStore()
        var features: [Double] = [], raw: [Double] = []
        var start = 0, size = 1, compared = 0, mismatches: [String] = []
        var seen = Set<String>()
        while start < events.count {
            let batch = Array(events[start..<min(start + size, events.count)])
            _ = try await store.process(batch, plan: servingPlan, mode: .update, into: &features)
            servingExtractor.extract(events: batch, features: features, featureCount: servingPlan.count, into: &raw)
            for (i, event) in batch.enumerated() where seen.insert(event.paymentID).inserted {
                let served = raw[(i * p)..<((i + 1) * p)]
                let trained = trainingRows[event.paymentID]!
                compared += 1
                if !zip(served, trained).allSatisfy({ $0.bitPattern == $1.bitPattern }), mismatches.count < 3 {
                    mismatches.append("\(event.paymentID): served \(Array(served)) trained \(Array(trained))")
                }
            }
            start += size
            size = size % 500 + 37 // 1, 38, 75, … : batch boundaries fall everywhere
        }
        #expect(compared == trainingRows.count)
        #expect(mismatches.isEmpty, "\(mismatches)")
    }
}
