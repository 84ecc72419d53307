import Features
import Foundation
import FraudCore
import Synchronization
import Testing
@testable import Model

@Suite struct ScorerPoolTests {
    /// Fixtures.model over a plan whose only aggregate is the model's count.
    static func compiled(_ model: LogisticModel = Fixtures.model) throws -> CompiledModel {
        var plan = FeaturePlan()
        return try CompiledModel(model: model, path: "fixture.json", plan: &plan)
    }

    static let events = [
        ExtractionTests.event("p1", minor: 10_000, channel: .ecom, cardCountry: "US", ipCountry: "NG"),
        ExtractionTests.event("p2", minor: 0, channel: .pos, cardCountry: "US", ipCountry: "US"),
    ]

    @Test func batchesReuseOneScorerAndScoreAsTheDefinition() throws {
        let compiled = try Self.compiled()
        let pool = ScorerPool(capacity: 2)
        let features: [Double] = [9, 1] // count(card_fingerprint,1h) per event
        let first = pool.score(compiled, events: Self.events, features: features, featureCount: 1, reasons: 2)
        #expect(pool.idleCount == 1)
        let second = pool.score(compiled, events: Self.events, features: features, featureCount: 1, reasons: 0)
        #expect(pool.idleCount == 1, "the second batch took the idle scorer back")
        #expect(second.scores == first.scores)
        #expect(second.contributions.isEmpty)
        // Row 0: z = ((log1p(100) − 3)/1.5, (9 − 1)/2, (1 − 0.5)/0.5).
        let raw: [Double] = [log1p(100), 9, 1, 0, 1, 0]
        for row in 0..<2 {
            let expected = raw.withUnsafeBufferPointer { Fixtures.model.referenceScore(raw: $0, offset: row * 3) }
            #expect(abs(first.scores[row] - expected) < 1e-6)
        }
        #expect(first.contributions[0].map(\.feature) == ["count(card_fingerprint,1h)", "log1p(amount_usd)"])
        #expect(first.contributions[0][0].contribution == 5)
    }

    @Test func flatContributionsAreEachRowsInOneArray() throws {
        let compiled = try Self.compiled()
        let pool = ScorerPool(capacity: 2)
        let nested = pool.score(compiled, events: Self.events, features: [9, 1], featureCount: 1, reasons: 2)
        let flat = pool.scoreFlat(compiled, events: Self.events, features: [9, 1], featureCount: 1, reasons: 2)
        #expect(flat.scores == nested.scores)
        #expect(flat.perRow == 2)
        #expect(flat.contributions == nested.contributions[0] + nested.contributions[1])
        #expect(Array(flat.contributions(ofRow: 1)) == nested.contributions[1])
        // More reasons asked than the model has features: every feature, once per row.
        #expect(pool.scoreFlat(compiled, events: Self.events, features: [9, 1], featureCount: 1, reasons: 5).perRow == 3)
    }

    @Test func aReloadedModelReplacesTheIdleScorersOfTheOldOne() throws {
        let pool = ScorerPool(capacity: 2)
        var next = Fixtures.model
        next.bias = -3
        let old = pool.score(try Self.compiled(), events: Self.events, features: [9, 1], featureCount: 1)
        let new = pool.score(try Self.compiled(next), events: Self.events, features: [9, 1], featureCount: 1)
        #expect(pool.idleCount == 1)
        // One more unit of bias: the logit moves by exactly 1.
        let logit = { (p: Double) in log(p / (1 - p)) }
        #expect(abs(logit(new.scores[0]) - logit(old.scores[0]) - 1) < 1e-5)
    }

    @Test func theObserverSeesTheExactModelInput() throws {
        let seen = Mutex<[[Double]]>([])
        let pool = ScorerPool { batch in seen.withLock { $0.append(Array(batch.raw)) } }
        _ = pool.score(try Self.compiled(), events: Self.events, features: [9, 1], featureCount: 1)
        #expect(seen.withLock { $0 } == [[log1p(100), 9, 1, 0, 1, 0]])
    }
}
