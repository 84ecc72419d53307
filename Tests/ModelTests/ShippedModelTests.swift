import Features
import Foundation
import Testing
@testable import Model

/// The files under models/ are part of the default configuration: they must load and compile.
@Suite struct ShippedModelTests {
    static let models = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("models")

    @Test func defaultSpecCompiles() throws {
        let spec = try TrainingSpec.load(path: Self.models.appendingPathComponent("spec.json").path)
        var plan = FeaturePlan()
        let extractor = try ModelFeatureExtractor(expressions: spec.features, plan: &plan, origin: "models/spec.json")
        #expect(extractor.names.count == spec.features.count)
        #expect((20...30).contains(spec.features.count))
        #expect(plan.features.contains { $0.canonicalName == "count(card_fingerprint,10m)" })
    }

    @Test func defaultModelLoadsCompilesAndMatchesTheSpec() throws {
        let spec = try TrainingSpec.load(path: Self.models.appendingPathComponent("spec.json").path)
        var plan = FeaturePlan()
        let compiled = try CompiledModel.load(path: Self.models.appendingPathComponent("default.json").path, plan: &plan)
        #expect(compiled.model.features.map(\.expression) == spec.features)
        #expect(compiled.model.version.hasPrefix("default@"))
        #expect(compiled.model.training.seed == 1)
        #expect((compiled.model.evaluation.aucROC ?? 0) > 0.9)
    }
}
